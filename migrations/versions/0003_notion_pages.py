"""Notion sync: per-row state (what we read and wrote) and the fleet-wide request pacer.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "notion_pages",
        sa.Column("page_id", sa.String(64), nullable=False),
        sa.Column("database_id", sa.String(64), nullable=False),
        sa.Column("last_edited_time", _ts(), nullable=True),
        sa.Column("inputs_hash", sa.String(64), nullable=True),
        sa.Column("observed", postgresql.JSONB(), nullable=False),
        sa.Column("pushed", postgresql.JSONB(), nullable=False),
        sa.Column("written_at", _ts(), nullable=True),
        sa.Column("row_error", sa.Text(), nullable=True),
        sa.Column("row_error_label", sa.String(100), nullable=True),
        sa.Column("task_digest", sa.String(64), nullable=True),
        sa.Column("dirty", sa.Boolean(), nullable=False),
        sa.Column("in_trash", sa.Boolean(), nullable=False),
        sa.Column("created_at", _ts(), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", _ts(), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("page_id", name="pk_notion_pages"),
    )
    op.create_index("ix_notion_pages_database_id", "notion_pages", ["database_id"])
    op.create_index(
        "ix_notion_pages_dirty",
        "notion_pages",
        ["page_id"],
        postgresql_where=sa.text("dirty"),
    )
    op.create_table(
        "notion_rate_limits",
        sa.Column("bucket", sa.String(100), nullable=False),
        sa.Column("next_slot_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", name="pk_notion_rate_limits"),
    )


def downgrade() -> None:
    op.drop_table("notion_rate_limits")
    op.drop_index("ix_notion_pages_dirty", table_name="notion_pages")
    op.drop_index("ix_notion_pages_database_id", table_name="notion_pages")
    op.drop_table("notion_pages")
