"""A task's artifacts as the API lists them; each ``url`` serves the bytes with range support."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, Field

from app.models import PipelineStep

ArtifactKind = Literal["image", "video", "audio", "other"]


class ArtifactResponse(BaseModel):
    step: PipelineStep
    item_id: uuid.UUID | None = Field(description="null for the task's final video.")
    item_key: str | None
    scene_number: int | None
    output: str = Field(description="The item's output name (e.g. `output`), or `final_video`.")
    key: str = Field(description="The artifact key (workspace-relative path / bucket key).")
    kind: ArtifactKind
    content_type: str
    size: int | None = Field(description="Bytes; null when the file is not (or no longer) there.")
    available: bool
    url: str = Field(description="GET it (Range requests supported) with the same bearer token.")
