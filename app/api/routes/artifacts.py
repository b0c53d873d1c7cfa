"""A task's artifacts: the list, and each file with Range support (a ``<video>`` can seek).

Authentication is the API router's dependency, like every /api/v1 route; a cookie session for
the dashboard plugs in there, not here.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response, StreamingResponse

from app.api.deps import SessionDep, StoreDep
from app.api.responses import NOT_FOUND_RESPONSE, ok
from app.artifacts import service as artifacts
from app.artifacts.byte_ranges import parse_range, range_applies
from app.artifacts.schemas import ArtifactResponse
from app.artifacts.service import Artifact
from app.artifacts.store import ArtifactStat
from app.core.envelope import Envelope, ErrorEnvelope

router = APIRouter(prefix="/tasks", tags=["artifacts"])

FETCH_ROUTE = "get_task_artifact"
FETCH_PATH = "/{task_id}/artifacts/{artifact_path:path}"


_FETCH_RESPONSES: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND_RESPONSE,
    200: {"description": "The whole file", "content": {"application/octet-stream": {}}},
    206: {"description": "The requested byte range", "content": {"application/octet-stream": {}}},
    416: {"model": ErrorEnvelope, "description": "Range starts past the end of the file"},
}


def _url(request: Request, task_id: uuid.UUID, path: str) -> str:
    quoted = quote(path, safe="/")  # Starlette inserts path parameters verbatim
    return str(request.app.url_path_for(FETCH_ROUTE, task_id=str(task_id), artifact_path=quoted))


@router.get("/{task_id}/artifacts", responses=NOT_FOUND_RESPONSE)
async def list_task_artifacts(
    task_id: uuid.UUID, request: Request, session: SessionDep, store: StoreDep
) -> Envelope[list[ArtifactResponse]]:
    """Every file the task produced (assets, composites, clips, audio, segments, final video),
    in pipeline order; `url` fetches it with the same credentials."""
    found = await artifacts.list_artifacts(session, task_id=task_id, store=store)
    return ok([_listed(request, task_id, a) for a in found])


def _listed(request: Request, task_id: uuid.UUID, artifact: Artifact) -> ArtifactResponse:
    """The artifact's own fields, with the URL that serves it in place of its path."""
    fields = asdict(artifact)
    path = fields.pop("path")
    return ArtifactResponse(
        **fields, available=artifact.size is not None, url=_url(request, task_id, path)
    )


def _headers(artifact: Artifact, stat: ArtifactStat) -> dict[str, str]:
    name = artifact.path.rsplit("/", 1)[-1]
    return {
        "Accept-Ranges": "bytes",
        "Content-Type": artifact.content_type,
        "Content-Disposition": f"inline; filename*=UTF-8''{quote(name, safe='')}",
        "ETag": stat.etag,
        # A redo rewrites the same key: revalidate (the ETag changes) rather than trust a cache.
        "Cache-Control": "private, no-cache",
        "X-Content-Type-Options": "nosniff",
    }


@router.get(FETCH_PATH, name=FETCH_ROUTE, response_class=Response, responses=_FETCH_RESPONSES)
@router.head(FETCH_PATH, include_in_schema=False)
async def get_task_artifact(
    task_id: uuid.UUID,
    artifact_path: str,
    request: Request,
    session: SessionDep,
    store: StoreDep,
    range_header: Annotated[str | None, Header(alias="Range")] = None,
    if_range: Annotated[str | None, Header(alias="If-Range")] = None,
) -> Response:
    """One artifact's bytes. `Range: bytes=a-b` (or `a-`, `-n`) gets 206 with `Content-Range`;
    a range past the end gets 416; several ranges or none get the whole file (200)."""
    artifact, stat = await artifacts.find_artifact(
        session, task_id=task_id, path=artifact_path, store=store
    )
    headers = _headers(artifact, stat)
    byte_range = (
        parse_range(range_header, stat.size) if range_applies(if_range, stat.etag) else None
    )
    start, length, status = 0, stat.size, 200
    if byte_range is not None:
        start, length, status = byte_range.start, byte_range.length, 206
        headers["Content-Range"] = byte_range.content_range(stat.size)
    headers["Content-Length"] = str(length)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers)
    body = artifacts.read_range(store, artifact.key, start=start, length=length)
    return StreamingResponse(body, status_code=status, headers=headers)
