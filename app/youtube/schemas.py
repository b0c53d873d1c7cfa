"""The YouTube quota view: today's units per channel and the uploads still waiting."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field


class ChannelQuotaResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    channel_id: uuid.UUID
    slug: str
    units_used: int
    daily_limit: int
    remaining: int
    needs_reauth: bool = Field(description="The channel's YouTube token was revoked: re-authorise.")


class WaitingUploadResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    task_id: uuid.UUID
    channel_id: uuid.UUID
    channel_slug: str
    title: str
    item_status: str
    code: str | None = Field(description="YOUTUBE_QUOTA or YOUTUBE_REAUTH when deferred.")
    reason: str | None
    resume_at: dt.datetime | None = Field(description="When the upload job runs next.")


class YouTubeQuotaResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    date: dt.date = Field(description="The quota day, in Pacific Time (Google resets at midnight).")
    timezone: str
    resets_at: dt.datetime
    costs: dict[str, int]
    channels: list[ChannelQuotaResponse]
    waiting: list[WaitingUploadResponse]
