"""Runs one item: resolves its artifact keys to files, passes the channel's secrets, calls a script.

Nothing here holds a database transaction while work runs; the two short reads (task brief,
credentials) finish before the script starts. Scripts work on local files: the item's inputs
(only those) are fetched from the artifact store into this worker's cache first, and its outputs
are uploaded and verified before the item may be recorded done, so any worker can take the next
item (with the local store, the cache *is* the shared workspace and both are no-ops).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from app.artifacts.configured import get_artifact_store
from app.artifacts.store import ArtifactMissingError, ArtifactStore, ArtifactStoreError
from app.core.cli_wrapper import CLIScriptError, run_cli_script
from app.core.database import session_scope
from app.core.filesystem import UnsafePathError, safe_join, workspace_root
from app.core.logging import get_logger
from app.core.script_process import pid_alive
from app.models import Channel, PipelineStep, Task
from app.pipeline.items import KEY_REF
from app.pipeline.outcome import (
    ItemFailedError,
    ItemOutcome,
    ItemRun,
    RemoteIdsCallback,
    credential_env,
)
from app.planning.plan_errors import PlanValidationError
from app.planning.service import make_plan
from app.review.rejection import replan_notes

BENCH_FAKE_ENV = "VIDGEN_BENCH_FAKE_LATENCIES"
KLING_TASK_ID = "kling_task_id"
REMOTE_TASK = "task_id"  # the key generate_video.py's --task-id-file holds
ORPHAN_WAIT_S = 420.0  # a create's worst case: 3 attempts of a 120 s read timeout, plus backoff
log = get_logger(__name__)


async def _bench_fake(inputs: dict[str, Any]) -> ItemOutcome:
    """Benchmarks only: stand in for a provider with a fixed latency per pool, touching no files.

    ``VIDGEN_BENCH_FAKE_LATENCIES="kling=3,elevenlabs=0.5,gemini=1,*=0"`` measures scheduling
    (queue, dispatch, concurrency limits) without FFmpeg's CPU cost; never set in production.
    """
    latencies = dict(
        part.split("=", 1) for part in os.environ[BENCH_FAKE_ENV].split(",") if "=" in part
    )
    pool = str(inputs["pool"])
    await asyncio.sleep(float(latencies.get(pool, latencies.get("*", "0"))))
    out_keys = {flag.lstrip("-"): key for flag, key in inputs["out_files"]}
    outcome = ItemOutcome(output_keys=out_keys, result={"bench": True}, service=pool)
    if inputs.get("final"):
        outcome.final_video_key = out_keys.get("output")
    return outcome


def _fetch_input(store: ArtifactStore, key: str) -> Path:
    try:
        return store.fetch(key)
    except ArtifactStoreError as exc:
        raise ItemFailedError("ARTIFACT_STORE_FAILED", str(exc), retryable=True) from None


def _resolve_ref(store: ArtifactStore, key: str) -> str:
    """A key in a JSON argument: from the store, else a file shipped in the workspace itself
    (branding media a channel config names by workspace-relative path)."""
    try:
        return str(_fetch_input(store, key))
    except ArtifactMissingError:
        pass
    try:
        shipped = safe_join(workspace_root(), *key.split("/"))
    except UnsafePathError:
        return str(store.local_path(key))
    return str(shipped if shipped.is_file() else store.local_path(key))


def _resolve_json(store: ArtifactStore, value: Any) -> Any:
    """Blocks (fetches): call it in a thread."""
    if isinstance(value, str) and value.startswith(KEY_REF):
        return _resolve_ref(store, value[len(KEY_REF) :])
    if isinstance(value, dict):
        return {k: _resolve_json(store, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_json(store, v) for v in value]
    return value


async def store_outputs(store: ArtifactStore, keys: list[str]) -> None:
    """Upload what the script wrote and verify it (size, SHA-256) before the item is recorded
    done; a failed upload is retryable (the next attempt re-runs the item)."""
    if store.is_shared_disk:
        return
    for key in keys:
        try:
            await asyncio.to_thread(store.put, key)
        except ArtifactStoreError as exc:
            raise ItemFailedError("ARTIFACT_UPLOAD_FAILED", str(exc), retryable=True) from None


def _task_id_file(task_id: uuid.UUID, step: PipelineStep, item_key: str) -> Path:
    """Where a paid script writes its remote task's id before announcing it (this host's disk)."""
    return workspace_root() / "remote-tasks" / f"{task_id}-{step.value}-{item_key}.json"


def _read_marker(path: Path) -> dict[str, Any]:
    try:
        content = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return content if isinstance(content, dict) else {}


async def _unrecorded_task_id(path: Path) -> str | None:
    """The id a killed worker's script recorded but the worker never stored, if there is one.

    A script still finishing its create (its worker died mid-request; the script holds SIGTERM
    until the answer is written down) is waited for. A pending mark whose script is gone means
    the answer never arrived: the task may or may not exist, and the run creates one.
    """
    deadline = asyncio.get_running_loop().time() + ORPHAN_WAIT_S
    while True:
        content = await asyncio.to_thread(_read_marker, path)
        task_id = content.get(REMOTE_TASK)
        if isinstance(task_id, str) and task_id:
            return task_id
        pid = content.get("pending_pid")
        if (
            not (isinstance(pid, int) and pid > 0 and pid_alive(pid))
            or asyncio.get_running_loop().time() > deadline
        ):
            return None
        await asyncio.sleep(0.2)


async def _remote_task_args(
    id_file: Path | None, remote_ids: dict[str, Any], on_remote_ids: RemoteIdsCallback
) -> list[str]:
    """Resume the recorded task, else one the last run created but could not record.

    The announcement of a new task reaches the database a moment after the vendor made it; a
    worker killed in that moment (or while the database restarts) leaves only the script's
    file, and a successor on this host resumes from it instead of paying again. The file lives
    only until the id is in the database.
    """
    task_id = remote_ids.get(KLING_TASK_ID)
    if not task_id and id_file is not None:
        task_id = await _unrecorded_task_id(id_file)
        if task_id:
            log.warning("item.resumed_unrecorded_task", remote_task=task_id)
            await on_remote_ids({KLING_TASK_ID: task_id})
    if id_file is not None:
        await asyncio.to_thread(id_file.unlink, missing_ok=True)
    if task_id:
        return ["--resume-task-id", str(task_id)]
    return ["--task-id-file", str(id_file)] if id_file is not None else []


async def _run_script(
    channel_id: uuid.UUID,
    inputs: dict[str, Any],
    remote_ids: dict[str, Any],
    on_remote_ids: RemoteIdsCallback,
    id_file: Path | None,
) -> ItemOutcome:
    args: list[str] = list(inputs["args"])
    store = get_artifact_store()
    for flag, key in inputs["in_files"]:
        try:
            path = await asyncio.to_thread(_fetch_input, store, key)
        except ArtifactMissingError:
            raise ItemFailedError(
                "INPUT_MISSING", f"input {key} for {flag} does not exist", retryable=False
            ) from None
        args += [flag, str(path)]
    out_keys: dict[str, str] = {}
    for flag, key in inputs["out_files"]:
        path = store.local_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        args += [flag, str(path)]
        out_keys[flag.lstrip("-")] = key
    for flag, key in inputs.get("dir_args", []):
        directory = store.local_path(key)
        directory.mkdir(parents=True, exist_ok=True)
        args += [flag, str(directory)]
    args += await _remote_task_args(id_file, remote_ids, on_remote_ids)
    env = await credential_env(
        channel_id,
        list(inputs.get("credentials", [])),
        optional=frozenset(inputs.get("optional_credentials", [])),
    )

    async def on_event(event: dict[str, Any]) -> None:
        if event.get("event") == "remote_task" and event.get("task_id"):
            await on_remote_ids({KLING_TASK_ID: str(event["task_id"])})
            if id_file is not None:  # recorded: the database is the resume point now
                await asyncio.to_thread(id_file.unlink, missing_ok=True)

    with tempfile.TemporaryDirectory(prefix="vidgen-item-") as tmp:
        for flag, payload in inputs.get("json_files", {}).items():
            path = Path(tmp) / f"{flag.strip('-')}.json"
            resolved = await asyncio.to_thread(_resolve_json, store, payload)
            path.write_text(json.dumps(resolved))
            args += [flag, str(path)]
        try:
            result = await run_cli_script(
                inputs["script"],
                args,
                timeout=float(inputs["timeout_s"]),
                env=env,
                on_event=on_event,
            )
        except CLIScriptError as exc:
            code = "SCRIPT_TIMEOUT" if "timed out" in exc.message else "SCRIPT_FAILED"
            raise ItemFailedError(
                code, f"{inputs['script']}: {exc.message}", retryable=exc.retryable
            ) from None
    for _flag, key in inputs["out_files"]:
        path = store.local_path(key)
        if not path.is_file() or path.stat().st_size == 0:
            raise ItemFailedError(
                "OUTPUT_MISSING",
                f"{inputs['script']} reported success but wrote no {key}",
                retryable=True,
            )
    await store_outputs(store, list(out_keys.values()))
    return ItemOutcome(
        output_keys=out_keys,
        result={k: v for k, v in result.raw.items() if k not in ("outputs",)},
        remote_ids=dict(result.remote_ids),
        cost_usd=float(result.cost_usd or 0.0),
        service=str(inputs.get("service") or result.provider or "offline"),
        model=result.model,
        units=float(inputs.get("units") or 0),
        unit_label=inputs.get("unit_label"),
    )


async def _run_plan(task_id: uuid.UUID, inputs: dict[str, Any]) -> ItemOutcome:
    async with session_scope() as session:
        task = await session.get(Task, task_id)
        channel = await session.get(Channel, task.channel_id) if task else None
        if task is None or channel is None:
            raise ItemFailedError("TASK_MISSING", "the task no longer exists", retryable=False)
        title, topic, direction, plan = task.title, task.topic, task.story_direction, task.plan
        notes = await replan_notes(session, task_id)
    try:
        made = await make_plan(
            channel=channel,
            title=title,
            topic=topic,
            story_direction=direction,
            plan=plan,
            notes=notes,
        )
    except PlanValidationError as exc:
        raise ItemFailedError("PLAN_INVALID", str(exc), retryable=False) from None
    return ItemOutcome(
        plan=made.plan,
        result={
            "source": made.source,
            "scenes": len(made.plan["scenes"]),
            **({"tokens": made.tokens} if made.tokens else {}),
        },
        cost_usd=made.cost_usd,
        service=made.source,
        model=made.model,
        units=(made.units if made.units is not None else 1) if made.cost_usd else 0,
        unit_label=made.unit_label,
    )


async def _publish(run: ItemRun) -> ItemOutcome:
    """YouTube when the channel is authorised and the OAuth client configured, else offline:
    copy the final video to ``published/<task>.mp4`` in the store (the demo needs no Google
    account)."""
    if os.environ.get(BENCH_FAKE_ENV):
        return ItemOutcome(result={"bench": True})
    from app.youtube import uploader as youtube_uploader

    if await youtube_uploader.youtube_publishing_enabled(run.channel_id):
        return await youtube_uploader.publish_to_youtube(run)
    store = get_artifact_store()
    try:
        source = await asyncio.to_thread(_fetch_input, store, run.inputs["final_key"])
    except ArtifactMissingError:
        raise ItemFailedError(
            "INPUT_MISSING",
            f"final video {run.inputs['final_key']} does not exist",
            retryable=False,
        ) from None
    published_key = f"published/{run.task_id}.mp4"
    target = store.local_path(published_key)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".mp4.part")
    await asyncio.to_thread(shutil.copyfile, source, partial)
    os.replace(partial, target)
    await store_outputs(store, [published_key])
    return ItemOutcome(
        output_keys={"published": published_key}, result={"published": published_key}
    )


async def _captions(run: ItemRun) -> ItemOutcome:
    """The SRT as a caption track on YouTube; nothing to do when the video was published offline."""
    if os.environ.get(BENCH_FAKE_ENV):
        return ItemOutcome(result={"bench": True})
    from app.youtube import caption_item, uploader

    if not await uploader.youtube_publishing_enabled(run.channel_id):
        return ItemOutcome(result={"captions": "offline"})
    return await caption_item.upload_captions(run)


async def _copy_user_media(inputs: dict[str, Any]) -> ItemOutcome:
    """The user's own file stands in for what a provider would have made: no call, no cost."""
    store = get_artifact_store()
    try:
        source = await asyncio.to_thread(_fetch_input, store, inputs["source"])
    except ArtifactMissingError:
        raise ItemFailedError(
            "INPUT_MISSING",
            f"your media {inputs['source']} is gone from the store: upload it again "
            "(POST /api/v1/tasks/{task_id}/media), then Retry",
            retryable=False,
        ) from None
    out_keys = {flag.lstrip("-"): key for flag, key in inputs["out_files"]}
    for key in out_keys.values():
        try:
            await asyncio.to_thread(store.put, key, source)
        except ArtifactStoreError as exc:
            raise ItemFailedError("ARTIFACT_UPLOAD_FAILED", str(exc), retryable=True) from None
    return ItemOutcome(
        output_keys=out_keys, result={"user_media": inputs["source"]}, service="user_media"
    )


async def execute_item(
    *,
    task_id: uuid.UUID,
    channel_id: uuid.UUID,
    step: PipelineStep,
    item_key: str,
    inputs: dict[str, Any],
    remote_ids: dict[str, Any],
    on_remote_ids: RemoteIdsCallback,
) -> ItemOutcome:
    kind = inputs.get("kind")
    if os.environ.get(BENCH_FAKE_ENV) and kind == "script":
        return await _bench_fake(inputs)
    if kind == "script":
        id_file = _task_id_file(task_id, step, item_key) if inputs.get("remote_task") else None
        outcome = await _run_script(channel_id, inputs, remote_ids, on_remote_ids, id_file)
        if inputs.get("final"):
            outcome.final_video_key = outcome.output_keys.get("output")
        return outcome
    if kind == "plan":
        return await _run_plan(task_id, inputs)
    if kind == "copy":
        return await _copy_user_media(inputs)
    run = ItemRun(task_id, channel_id, inputs, remote_ids, on_remote_ids)
    if kind == "publish":
        return await _publish(run)
    if kind == "captions":
        return await _captions(run)
    raise ItemFailedError(
        "ITEM_INVALID", f"{step.value} item {item_key} has unknown kind {kind!r}", retryable=False
    )
