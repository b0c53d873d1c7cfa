"""The review queue and bulk review."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.api.deps import AuthDep, SessionDep
from app.api.params import DEFAULT_LIMIT, ChannelRef, Cursor, Limit
from app.api.responses import NOT_FOUND_RESPONSE, JsonPage, ok
from app.core.envelope import Envelope, ErrorEnvelope, Page
from app.review import queue as review_queue
from app.review import service as review_service
from app.review.schemas import BulkReviewRequest, BulkReviewResult, ReviewQueueEntry

router = APIRouter(prefix="/reviews", tags=["reviews"])


_REVIEW_PAGE = JsonPage(Envelope[Page[ReviewQueueEntry]])


@router.get(
    "",
    responses={**NOT_FOUND_RESPONSE, 400: {"model": ErrorEnvelope}},
    response_model=_REVIEW_PAGE.response_model,
)
async def list_reviews(
    session: SessionDep,
    channel_id: ChannelRef = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Response:
    """Tasks waiting for a person, the longest-waiting first: at a review gate (`kind: review`)
    or stopped before a step that would pass a budget (`kind: budget`), each with links to its
    finished artifacts."""
    result = await review_queue.list_waiting(
        session, channel_ref=channel_id, cursor=cursor, limit=limit
    )
    return _REVIEW_PAGE.response(result.entries, next_cursor=result.next_cursor, limit=limit)


@router.post(
    "/bulk",
    responses={
        409: {
            "model": ErrorEnvelope,
            "description": "Some tasks do not wait for review; details.errors names each",
        },
        422: {
            "model": ErrorEnvelope,
            "description": "Malformed, or some tasks are missing or their redo does not fit",
        },
    },
)
async def bulk_review(
    body: BulkReviewRequest, session: SessionDep, actor: AuthDep
) -> Envelope[list[BulkReviewResult]]:
    """Approve or reject up to 100 tasks at once, all or nothing: when any entry cannot be
    applied (task missing, not waiting for review, a redo that does not fit its plan) none is,
    and `details.errors` names each bad task. Each entry takes the same fields as
    `/tasks/{task_id}/reject` (notes required for a rejection)."""
    results = await review_service.bulk_review(session, entries=body.reviews, actor=actor)
    return ok(results)
