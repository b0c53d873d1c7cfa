"""Artifact retention: when a published task's intermediate artifacts were removed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tasks", sa.Column("artifacts_purged_at", sa.DateTime(timezone=True)))
    op.create_index(
        "ix_tasks_retention_due",
        "tasks",
        ["completed_at"],
        postgresql_where=sa.text("status = 'published' AND artifacts_purged_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_retention_due", table_name="tasks")
    op.drop_column("tasks", "artifacts_purged_at")
