"""YouTube quota: units spent today per Cloud project and channel, and the uploads waiting."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import SessionDep
from app.api.responses import ok
from app.core.envelope import Envelope
from app.youtube.quota import quota_overview
from app.youtube.schemas import YouTubeQuotaResponse

router = APIRouter(prefix="/youtube-quota", tags=["youtube"])


@router.get("")
async def get_youtube_quota(session: SessionDep) -> Envelope[YouTubeQuotaResponse]:
    """Today's usage (Pacific day) per project and channel, the costs, every unfinished upload."""
    overview = await quota_overview(session)
    return ok(YouTubeQuotaResponse.model_validate(overview))
