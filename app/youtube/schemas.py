"""The YouTube quota view: today's units per Cloud project, per channel, and the uploads waiting."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field


class ChannelQuotaResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    channel_id: uuid.UUID
    slug: str
    project: str = Field(description="The Cloud project (OAuth client) whose quota it spends.")
    units_used: int = Field(description="Units this channel spent today.")
    daily_limit: int = Field(description="Its project's daily limit, shared with other channels.")
    remaining: int = Field(description="Units its project has left today.")
    needs_reauth: bool = Field(description="The channel's YouTube token was revoked: re-authorise.")


class ProjectQuotaResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    project: str = Field(description="'fleet' (YOUTUBE_CLIENT_ID) or a channel's own client id.")
    client_id: str | None
    units_used: int = Field(description="Units every channel of the project spent today.")
    daily_limit: int
    remaining: int
    exhausted: bool = Field(description="Google answered quotaExceeded today: nothing is tried.")
    channels: list[ChannelQuotaResponse]


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
    projects: list[ProjectQuotaResponse]
    channels: list[ChannelQuotaResponse]
    waiting: list[WaitingUploadResponse]
