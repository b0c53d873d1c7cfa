"""Re-queues items whose job vanished (a cancelled or crashed handler), so no task is ever lost.

An item in ``queued``/``running`` on a running task must always have a live PgQueuer job (its
dedupe key is ``item:<id>``). PgQueuer deletes a job whose handler raised or was cancelled at
shutdown; the item is then orphaned. The leader's tick finds such items and enqueues them again.
A short grace period covers the moment between a job's deletion and our own record committing.
"""

from __future__ import annotations

import uuid

from sqlalchemy import text

from app.core.database import session_scope
from app.core.logging import get_logger
from app.pipeline.items import pool_for_item
from app.pipeline.queue import ItemJob, enqueue_items

log = get_logger("reconciler")

_ORPHANS_SQL = text(
    """
    SELECT i.id, i.step, i.item_key, i.inputs, t.priority
    FROM task_items AS i
    JOIN tasks AS t ON t.id = i.task_id
    WHERE i.status IN ('queued', 'running')
      AND t.status = 'running' AND t.step = i.step
      AND NOT EXISTS (
          SELECT 1 FROM pgqueuer AS q WHERE q.dedupe_key = 'item:' || i.id::text
      )
      AND coalesce(i.started_at, t.updated_at) < now() - make_interval(secs => :grace)
    ORDER BY t.priority DESC
    LIMIT 500
    FOR UPDATE OF i SKIP LOCKED
    """
)


async def requeue_orphans(grace_seconds: float = 5.0) -> list[uuid.UUID]:
    async with session_scope() as session:
        rows = (await session.execute(_ORPHANS_SQL, {"grace": grace_seconds})).all()
        jobs = [
            ItemJob(item_id=row.id, pool=pool_for_item(row.inputs), priority=row.priority)
            for row in rows
        ]
        if jobs:
            await session.execute(
                text("UPDATE task_items SET status = 'queued' WHERE id = ANY(:ids)"),
                {"ids": [j.item_id for j in jobs]},
            )
            await enqueue_items(session, jobs)
    for job in jobs:
        log.warning("item.requeued_orphan", item_id=str(job.item_id), pool=job.pool)
    return [j.item_id for j in jobs]
