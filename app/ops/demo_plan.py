"""``vidgen demo --plan FILE``: a plan someone wrote (JSON or YAML), with the files it names.

The API converts the plan's shorter forms (app/planning/plan_input.py); this side only reads the
file, finds the local media it names (``seed_image``, ``image_file``, ``clip_file``,
``narration_file``, relative to the plan file) and uploads each as the scene's own media, so
those scenes pay nothing for what the file replaces. A named file that is not there is reported
and the scene is generated from its prompt instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from app.planning.plan_input import convert_plan_input


class PlanFileError(ValueError):
    """The plan file cannot be read; the message says where and how to fix it."""


@dataclass
class PlanFile:
    plan: dict[str, Any]
    media: list[tuple[int, str, Path]] = field(default_factory=list)  # scene, kind, file
    missing: list[str] = field(default_factory=list)


def read_plan_file(path: Path) -> PlanFile:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlanFileError(f"cannot read the plan {path}: {exc.strerror}") from None
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanFileError(
            f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except yaml.YAMLError as exc:
        raise PlanFileError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise PlanFileError(f"{path}: a plan is an object with a title and scenes")
    found = PlanFile(plan=data)
    for scene, kinds in sorted(convert_plan_input(data).files.items()):
        for kind, name in kinds.items():
            local = (path.parent / name).resolve()
            if local.is_file():
                found.media.append((scene, kind, local))
            else:
                found.missing.append(
                    f"scene {scene}: {kind} file {name} not found next to the plan: the scene's "
                    "picture is made from its prompt instead"
                )
    return found


def upload_media(client: httpx.Client, task_id: str, plan_file: PlanFile) -> list[str]:
    """Upload each file as its scene's own media; one line per file for the report."""
    lines = []
    for scene, kind, local in plan_file.media:
        with local.open("rb") as handle:
            response = client.post(
                f"/api/v1/tasks/{task_id}/media",
                data={"scene": str(scene), "kind": kind},
                files={"file": (local.name, handle)},
                timeout=300,
            )
        if response.status_code >= 400:
            error = response.json().get("error", {})
            raise PlanFileError(f"uploading {local} failed: {error.get('message', response.text)}")
        lines.append(f"scene {scene}: your {kind} {local.name} is used (no cost)")
    return lines
