"""Initial schema: every table of app/models/ and the append-only trigger on audit_logs.

Tables: channels, channel credentials, tasks, task steps and items, reviews, audit log, video
costs, YouTube quota usage, Notion sync state, webhook events.

Written by hand to match app/models/; tests/test_migrations.py proves there is no drift.

Revision ID: 0001
Revises:
Create Date: 2026-11-20
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the enum values at this revision (later changes need their own migration).
ENUMS: dict[str, tuple[str, ...]] = {
    "task_status": (
        "draft",
        "queued",
        "running",
        "awaiting_review",
        "failed",
        "cancelled",
        "published",
    ),
    "pipeline_step": (
        "plan",
        "assets",
        "composites",
        "videos",
        "narration",
        "sound_effects",
        "assembly",
        "upload",
    ),
    "step_status": ("pending", "running", "completed", "failed"),
    "item_status": ("pending", "queued", "running", "completed", "failed"),
    "review_decision": ("approved", "rejected"),
}

AUDIT_GUARD_FUNCTION = """
CREATE FUNCTION audit_logs_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_logs is append-only: % is not allowed', TG_OP
        USING HINT = 'Record a new audit entry instead of changing or removing one.';
END;
$$
"""

AUDIT_GUARD_TRIGGER = """
CREATE TRIGGER audit_logs_append_only
BEFORE UPDATE OR DELETE ON audit_logs
FOR EACH ROW EXECUTE FUNCTION audit_logs_append_only()
"""

AUDIT_GUARD_TRUNCATE = """
CREATE TRIGGER audit_logs_no_truncate
BEFORE TRUNCATE ON audit_logs
FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_append_only()
"""


def _enum(name: str) -> postgresql.ENUM:
    return postgresql.ENUM(*ENUMS[name], name=name, create_type=False)


def _uuid() -> postgresql.UUID[object]:
    return postgresql.UUID(as_uuid=True)


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _created_at() -> sa.Column[object]:
    return sa.Column("created_at", _ts(), server_default=sa.func.now(), nullable=False)


def _updated_at() -> sa.Column[object]:
    return sa.Column("updated_at", _ts(), server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    bind = op.get_bind()
    for name, values in ENUMS.items():
        postgresql.ENUM(*values, name=name).create(bind, checkfirst=False)

    op.create_table(
        "channels",
        sa.Column("id", _uuid(), nullable=False),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("max_concurrent", sa.Integer(), nullable=False),
        sa.Column("notion_database_id", sa.String(64), nullable=True),
        sa.Column("config", postgresql.JSONB(), nullable=False),
        sa.Column("config_hash", sa.String(64), nullable=False),
        sa.Column("last_dispatched_at", _ts(), nullable=True),
        _created_at(),
        _updated_at(),
        sa.PrimaryKeyConstraint("id", name="pk_channels"),
        sa.UniqueConstraint("slug", name="uq_channels_slug"),
    )

    op.create_table(
        "channel_credentials",
        sa.Column("id", _uuid(), nullable=False),
        sa.Column("channel_id", _uuid(), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("needs_reauth", sa.Boolean(), nullable=False),
        sa.Column("meta", postgresql.JSONB(), nullable=False),
        _created_at(),
        _updated_at(),
        sa.PrimaryKeyConstraint("id", name="pk_channel_credentials"),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name="fk_channel_credentials_channel_id_channels",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "channel_id", "provider", name="uq_channel_credentials_channel_id_provider"
        ),
    )

    op.create_table(
        "tasks",
        sa.Column("id", _uuid(), nullable=False),
        sa.Column("channel_id", _uuid(), nullable=False),
        sa.Column("status", _enum("task_status"), nullable=False),
        sa.Column("step", _enum("pipeline_step"), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("topic", sa.Text(), nullable=True),
        sa.Column("story_direction", sa.Text(), nullable=True),
        sa.Column("plan", postgresql.JSONB(), nullable=True),
        sa.Column("plan_source", sa.String(16), nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("notion_page_id", sa.String(64), nullable=True),
        sa.Column("youtube_video_id", sa.String(32), nullable=True),
        sa.Column("youtube_url", sa.String(200), nullable=True),
        sa.Column("final_video_key", sa.String(500), nullable=True),
        sa.Column("total_cost_usd", sa.Numeric(12, 6), nullable=False),
        sa.Column("queued_at", _ts(), nullable=True),
        sa.Column("started_at", _ts(), nullable=True),
        sa.Column("completed_at", _ts(), nullable=True),
        _created_at(),
        _updated_at(),
        sa.PrimaryKeyConstraint("id", name="pk_tasks"),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name="fk_tasks_channel_id_channels",
            ondelete="RESTRICT",
        ),
        sa.UniqueConstraint("notion_page_id", name="uq_tasks_notion_page_id"),
    )
    op.create_index("ix_tasks_channel_id_status", "tasks", ["channel_id", "status"])
    op.create_index("ix_tasks_created_at_id", "tasks", ["created_at", "id"])
    op.create_index(
        "ix_tasks_queued_dispatch",
        "tasks",
        ["channel_id", sa.text("priority DESC"), "queued_at"],
        postgresql_where=sa.text("status = 'queued'"),
    )
    op.create_index(
        "ix_tasks_active_channel_id",
        "tasks",
        ["channel_id"],
        postgresql_where=sa.text("status IN ('running', 'awaiting_review')"),
    )
    op.create_index("ix_tasks_status_created_at", "tasks", ["status", "created_at"])

    op.create_table(
        "task_steps",
        sa.Column("id", _uuid(), nullable=False),
        sa.Column("task_id", _uuid(), nullable=False),
        sa.Column("step", _enum("pipeline_step"), nullable=False),
        sa.Column("status", _enum("step_status"), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("starts", sa.Integer(), nullable=False),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("started_at", _ts(), nullable=True),
        sa.Column("completed_at", _ts(), nullable=True),
        sa.Column("duration_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_task_steps"),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name="fk_task_steps_task_id_tasks", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("task_id", "step", name="uq_task_steps_task_id_step"),
    )

    op.create_table(
        "task_items",
        sa.Column("id", _uuid(), nullable=False),
        sa.Column("task_id", _uuid(), nullable=False),
        sa.Column("step", _enum("pipeline_step"), nullable=False),
        sa.Column("item_key", sa.String(200), nullable=False),
        sa.Column("scene_number", sa.Integer(), nullable=True),
        sa.Column("status", _enum("item_status"), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("inputs", postgresql.JSONB(), nullable=False),
        sa.Column("output_keys", postgresql.JSONB(), nullable=False),
        sa.Column("remote_ids", postgresql.JSONB(), nullable=False),
        sa.Column("result", postgresql.JSONB(), nullable=False),
        sa.Column("cost_usd", sa.Numeric(12, 6), nullable=False),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("lease_owner", sa.String(120), nullable=True),
        sa.Column("lease_expires_at", _ts(), nullable=True),
        sa.Column("started_at", _ts(), nullable=True),
        sa.Column("completed_at", _ts(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_task_items"),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name="fk_task_items_task_id_tasks", ondelete="CASCADE"
        ),
        sa.UniqueConstraint(
            "task_id", "step", "item_key", name="uq_task_items_task_id_step_item_key"
        ),
    )
    op.create_index(
        "ix_task_items_unfinished",
        "task_items",
        ["task_id", "step"],
        postgresql_where=sa.text("status <> 'completed'"),
    )

    op.create_table(
        "reviews",
        sa.Column("id", _uuid(), nullable=False),
        sa.Column("task_id", _uuid(), nullable=False),
        sa.Column("gate", _enum("pipeline_step"), nullable=False),
        sa.Column("decision", _enum("review_decision"), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("redo", postgresql.JSONB(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_reviews"),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name="fk_reviews_task_id_tasks", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_reviews_task_id_created_at", "reviews", ["task_id", "created_at"])

    op.create_table(
        "audit_logs",
        sa.Column("id", _uuid(), nullable=False),
        _created_at(),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("entity_type", sa.String(32), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=True),
        sa.Column("task_id", _uuid(), nullable=True),
        sa.Column("channel_id", _uuid(), nullable=True),
        sa.Column("details", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_logs"),
    )
    op.create_index("ix_audit_logs_created_at_action", "audit_logs", ["created_at", "action"])
    op.create_index("ix_audit_logs_task_id", "audit_logs", ["task_id"])
    op.execute(AUDIT_GUARD_FUNCTION)
    op.execute(AUDIT_GUARD_TRIGGER)
    op.execute(AUDIT_GUARD_TRUNCATE)

    op.create_table(
        "video_costs",
        sa.Column("id", _uuid(), nullable=False),
        sa.Column("task_id", _uuid(), nullable=False),
        sa.Column("channel_id", _uuid(), nullable=False),
        sa.Column("step", _enum("pipeline_step"), nullable=False),
        sa.Column("item_key", sa.String(200), nullable=True),
        sa.Column("service", sa.String(32), nullable=False),
        sa.Column("model", sa.String(100), nullable=True),
        sa.Column("units", sa.Numeric(14, 4), nullable=False),
        sa.Column("unit_label", sa.String(32), nullable=True),
        sa.Column("cost_usd", sa.Numeric(12, 6), nullable=False),
        sa.Column("idempotency_key", sa.String(300), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_video_costs"),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name="fk_video_costs_task_id_tasks", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name="fk_video_costs_channel_id_channels",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("idempotency_key", name="uq_video_costs_idempotency_key"),
    )
    op.create_index(
        "ix_video_costs_channel_id_created_at", "video_costs", ["channel_id", "created_at"]
    )
    op.create_index("ix_video_costs_task_id", "video_costs", ["task_id"])

    op.create_table(
        "youtube_quota_usage",
        sa.Column("channel_id", _uuid(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("units_used", sa.Integer(), nullable=False),
        sa.Column("daily_limit", sa.Integer(), nullable=False),
        _updated_at(),
        sa.PrimaryKeyConstraint("channel_id", "date", name="pk_youtube_quota_usage"),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name="fk_youtube_quota_usage_channel_id_channels",
            ondelete="CASCADE",
        ),
    )

    op.create_table(
        "notion_sync_state",
        sa.Column("database_id", sa.String(64), nullable=False),
        sa.Column("data_source_id", sa.String(64), nullable=True),
        sa.Column("last_edited_cursor", _ts(), nullable=True),
        sa.Column("last_polled_at", _ts(), nullable=True),
        sa.Column("schema", postgresql.JSONB(), nullable=False),
        _updated_at(),
        sa.PrimaryKeyConstraint("database_id", name="pk_notion_sync_state"),
    )

    op.create_table(
        "webhook_events",
        sa.Column("id", sa.String(100), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.Column("received_at", _ts(), server_default=sa.func.now(), nullable=False),
        sa.Column("processed_at", _ts(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_events"),
    )
    op.create_index("ix_webhook_events_received_at", "webhook_events", ["received_at"])


def downgrade() -> None:
    op.drop_table("webhook_events")
    op.drop_table("notion_sync_state")
    op.drop_table("youtube_quota_usage")
    op.drop_table("video_costs")
    op.execute("DROP TRIGGER IF EXISTS audit_logs_no_truncate ON audit_logs")
    op.execute("DROP TRIGGER IF EXISTS audit_logs_append_only ON audit_logs")
    op.drop_table("audit_logs")
    op.execute("DROP FUNCTION IF EXISTS audit_logs_append_only()")
    op.drop_table("reviews")
    op.drop_table("task_items")
    op.drop_table("task_steps")
    op.drop_table("tasks")
    op.drop_table("channel_credentials")
    op.drop_table("channels")
    bind = op.get_bind()
    for name in reversed(ENUMS):
        postgresql.ENUM(name=name).drop(bind, checkfirst=True)
