"""Video statistics: one row per fetch of a published video's views, likes and comments.

The statistics collector (``app.youtube.stats``) writes a row per schedule mark (1 h after
publication, then every 24 h up to 90 days); the analytics figures are filled when the
channel's token carries the ``yt-analytics.readonly`` scope. A new table only: nothing to move.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "video_stats",
        sa.Column("id", UUID(as_uuid=True), nullable=False),
        sa.Column("task_id", UUID(as_uuid=True), nullable=False),
        sa.Column("channel_id", UUID(as_uuid=True), nullable=False),
        sa.Column("youtube_video_id", sa.String(32), nullable=False),
        sa.Column("mark_hours", sa.Integer(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("views", sa.BigInteger()),
        sa.Column("likes", sa.BigInteger()),
        sa.Column("comments", sa.BigInteger()),
        sa.Column("average_view_duration_s", sa.Float()),
        sa.Column("average_view_percentage", sa.Float()),
        sa.Column("estimated_minutes_watched", sa.Float()),
        sa.Column("subscribers_gained", sa.Integer()),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name="fk_video_stats_task_id_tasks", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name="fk_video_stats_channel_id_channels",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_video_stats"),
        sa.UniqueConstraint("task_id", "mark_hours", name="uq_video_stats_task_id_mark_hours"),
    )
    op.create_index(
        "ix_video_stats_channel_id_fetched_at", "video_stats", ["channel_id", "fetched_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_video_stats_channel_id_fetched_at", table_name="video_stats")
    op.drop_table("video_stats")
