"""A stand-in worker for the kill tests: runs one item job the way ``vidgen worker`` does.

``python -m tests.services.worker_child ITEM_ID`` with the test's environment
(DATABASE_URL, the fake's URLs, FERNET_KEYS, WORKSPACE_ROOT); the test SIGKILLs it mid-item.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid

from pgqueuer import RetryRequested

from app.core.database import dispose_engine, init_engine
from app.pipeline.jobs import run_item_job


async def main(item_id: uuid.UUID) -> None:
    init_engine(application_name="worker-child")
    try:
        await run_item_job(item_id, worker=f"child:{os.getpid()}")
    except RetryRequested:
        pass
    finally:
        await dispose_engine()


if __name__ == "__main__":
    asyncio.run(main(uuid.UUID(sys.argv[1])))
