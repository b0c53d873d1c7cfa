"""Channels (read-only here; ``vidgen channels sync`` writes them from ``channel_configs/``)."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import SessionDep
from app.api.responses import NOT_FOUND_RESPONSE, ok
from app.channels import service as channel_service
from app.channels.schemas import ChannelResponse
from app.core.envelope import Envelope

router = APIRouter(prefix="/channels", tags=["channels"])


@router.get("")
async def list_channels(session: SessionDep) -> Envelope[list[ChannelResponse]]:
    """Every channel, active or not, by slug."""
    channels = await channel_service.list_channels(session)
    return ok([ChannelResponse.model_validate(channel) for channel in channels])


@router.get("/{channel_id}", responses=NOT_FOUND_RESPONSE)
async def get_channel(channel_id: str, session: SessionDep) -> Envelope[ChannelResponse]:
    """One channel, by id or by slug."""
    channel = await channel_service.get_channel(session, channel_ref=channel_id)
    return ok(ChannelResponse.model_validate(channel))
