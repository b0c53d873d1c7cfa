"""A scene's own media: the user's image, clip or narration file, used instead of a provider's."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import BaseModel

from app.api.deps import AuthDep, SessionDep, StoreDep
from app.api.responses import NOT_FOUND_RESPONSE, ok
from app.core.envelope import Envelope, ErrorEnvelope
from app.pipeline.control import attach_media

router = APIRouter(prefix="/tasks", tags=["tasks"])

# For the body-size guard, which allows this path a larger body than JSON routes.
MEDIA_UPLOAD_PATH = r"^/api/v1/tasks/[^/]+/media$"


class TaskMediaResponse(BaseModel):
    task_id: uuid.UUID
    scene: int
    kind: str
    key: str
    plan: dict[str, object]


@router.post(
    "/{task_id}/media",
    status_code=201,
    responses={
        **NOT_FOUND_RESPONSE,
        400: {"model": ErrorEnvelope, "description": "Wrong file type or not decodable"},
        409: {"model": ErrorEnvelope, "description": "No plan yet, or the step already started"},
        413: {"model": ErrorEnvelope, "description": "Larger than MAX_MEDIA_UPLOAD_BYTES"},
    },
)
async def upload_task_media(
    task_id: uuid.UUID,
    session: SessionDep,
    actor: AuthDep,
    store: StoreDep,
    file: Annotated[UploadFile, File(description="The image, clip or narration file")],
    scene: Annotated[int, Form(ge=1, description="The plan's scene number")],
    kind: Annotated[Literal["image", "clip", "narration"], Form()],
) -> Envelope[TaskMediaResponse]:
    """Bring your own media for one scene of a planned task (a draft is simplest: create it with
    a plan and `queue: false`, upload, then `POST /tasks/{id}/queue`). The step that would have
    made it copies your file instead, at no cost; an image also replaces the scene's generated
    image. Accepted until the step that uses it starts (409 after)."""
    with tempfile.TemporaryDirectory(prefix="vidgen-media-") as tmp:
        upload = Path(tmp) / "upload"
        with upload.open("wb") as out:
            await asyncio.to_thread(shutil.copyfileobj, file.file, out)
        task, key = await attach_media(
            session,
            task_id=task_id,
            scene_number=scene,
            kind=kind,
            filename=file.filename,
            upload=upload,
            store=store,
            actor=actor,
        )
    assert task.plan is not None
    return ok(TaskMediaResponse(task_id=task.id, scene=scene, kind=kind, key=key, plan=task.plan))
