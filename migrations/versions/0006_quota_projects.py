"""YouTube quota per Cloud project: the ledger is keyed by OAuth client, with per-channel rows.

Google counts the daily quota per project, so channels that share an OAuth client share one
limit. Every row so far was spent through the fleet's YOUTUBE_CLIENT_ID (channels could not name
their own client), so existing rows move to the ``fleet`` project unchanged; a row that was set
to its full limit by a ``quotaExceeded`` answer is marked exhausted. The downgrade folds each
channel's rows per day back into one and turns "exhausted" into "units used = limit" again.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "youtube_quota_usage"
PK = "pk_youtube_quota_usage"


def upgrade() -> None:
    op.add_column(
        TABLE,
        sa.Column("project", sa.String(200), server_default=sa.text("'fleet'"), nullable=False),
    )
    op.add_column(TABLE, sa.Column("exhausted_at", sa.DateTime(timezone=True)))
    op.execute(
        f"UPDATE {TABLE} SET exhausted_at = updated_at "  # noqa: S608 (constant names)
        "WHERE units_used >= daily_limit"
    )
    op.drop_constraint(PK, TABLE, type_="primary")
    op.create_primary_key(PK, TABLE, ["project", "date", "channel_id"])


def downgrade() -> None:
    op.execute(
        f"""
        CREATE TEMPORARY TABLE quota_fold ON COMMIT DROP AS
        SELECT channel_id, date,
               CASE WHEN bool_or(exhausted_at IS NOT NULL)
                    THEN greatest(sum(units_used), max(daily_limit))
                    ELSE sum(units_used) END AS units_used,
               max(daily_limit) AS daily_limit, max(updated_at) AS updated_at
        FROM {TABLE} GROUP BY channel_id, date
        """  # noqa: S608 (constant names)
    )
    op.execute(f"DELETE FROM {TABLE}")  # noqa: S608
    op.drop_constraint(PK, TABLE, type_="primary")
    op.drop_column(TABLE, "exhausted_at")
    op.drop_column(TABLE, "project")
    op.create_primary_key(PK, TABLE, ["channel_id", "date"])
    op.execute(
        f"INSERT INTO {TABLE} (channel_id, date, units_used, daily_limit, updated_at) "  # noqa: S608
        "SELECT channel_id, date, units_used, daily_limit, updated_at FROM quota_fold"
    )
    op.execute("DROP TABLE quota_fold")
