"""``vidgen worker``: a PgQueuer queue manager running every item pool, under a supervisor loop.

The supervisor rebuilds the connection after PostgreSQL restarts; SIGTERM stops dequeuing, lets
in-flight items finish for a bounded grace period, then cancels them (their scripts' process
groups are killed and the reconciler re-queues the items, so nothing is lost).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
from dataclasses import dataclass, field
from datetime import timedelta

import asyncpg
from pgqueuer import AsyncpgDriver, Queries, QueueManager
from pgqueuer.models import Job

from app.artifacts.retention import trim_cache_if_due
from app.core.database import dispose_engine, init_engine, plain_dsn
from app.core.logging import get_logger
from app.pipeline.jobs import run_item_job
from app.pipeline.queue import DEFAULT_POOL_LIMITS, item_entrypoint, parse_item_payload

log = get_logger("worker")


@dataclass
class WorkerSettings:
    name: str = field(
        default_factory=lambda: os.environ.get("WORKER_NAME", f"worker-{os.getpid()}")
    )
    max_concurrent_tasks: int = 8
    batch_size: int = 1
    heartbeat_timeout_s: float = 30.0
    dequeue_timeout_s: float = 2.0
    shutdown_grace_s: float = 30.0
    pool_limits: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_POOL_LIMITS))

    @classmethod
    def from_env(cls) -> WorkerSettings:
        settings = cls()
        env = os.environ
        settings.max_concurrent_tasks = int(
            env.get("WORKER_MAX_CONCURRENT_TASKS", settings.max_concurrent_tasks)
        )
        settings.heartbeat_timeout_s = float(
            env.get("WORKER_HEARTBEAT_TIMEOUT_S", settings.heartbeat_timeout_s)
        )
        settings.dequeue_timeout_s = float(
            env.get("WORKER_DEQUEUE_TIMEOUT_S", settings.dequeue_timeout_s)
        )
        settings.shutdown_grace_s = float(
            env.get("WORKER_SHUTDOWN_GRACE_S", settings.shutdown_grace_s)
        )
        for pool in settings.pool_limits:
            raw = env.get(f"POOL_LIMIT_{pool.upper()}")
            if raw:
                settings.pool_limits[pool] = int(raw)
        return settings


class Worker:
    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings
        self.stopping = asyncio.Event()
        self._qm: QueueManager | None = None
        self.inflight: set[asyncio.Task[None]] = set()
        self.owner = f"{settings.name}:{os.getpid()}:{secrets.token_hex(3)}"

    def request_stop(self) -> None:
        if not self.stopping.is_set():
            log.info("worker.stopping", worker=self.settings.name)
        self.stopping.set()
        if self._qm is not None:
            self._qm.shutdown.set()

    def _build(self, conn: asyncpg.Connection) -> QueueManager:
        qm = QueueManager(Queries(AsyncpgDriver(conn)))
        owner = self.owner

        async def handle(job: Job) -> None:
            # Shielded: if the queue manager dies with its connection (PostgreSQL restart), the
            # item keeps running and records its result; its lease tells a re-picked job to wait.
            inner = asyncio.create_task(run_item_job(parse_item_payload(job.payload), worker=owner))
            self.inflight.add(inner)
            inner.add_done_callback(self.inflight.discard)
            try:
                await asyncio.shield(inner)
            finally:
                with contextlib.suppress(Exception):
                    await trim_cache_if_due()  # this worker's artifact cache, by size

        for pool, limit in self.settings.pool_limits.items():
            qm.entrypoint(item_entrypoint(pool), concurrency_limit=limit)(handle)
        return qm

    async def _run_once(self) -> None:
        conn = await asyncpg.connect(
            plain_dsn(), server_settings={"application_name": self.settings.name}
        )
        try:
            self._qm = self._build(conn)
            log.info("worker.ready", worker=self.settings.name, pools=self.settings.pool_limits)
            run = asyncio.create_task(
                self._qm.run(
                    dequeue_timeout=timedelta(seconds=self.settings.dequeue_timeout_s),
                    batch_size=self.settings.batch_size,
                    max_concurrent_tasks=max(
                        self.settings.max_concurrent_tasks, 2 * self.settings.batch_size
                    ),
                    heartbeat_timeout=timedelta(seconds=self.settings.heartbeat_timeout_s),
                    shutdown_on_listener_failure=True,
                )
            )
            stop_wait = asyncio.create_task(self.stopping.wait())
            done, _ = await asyncio.wait({run, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
            if run not in done:
                # graceful: the manager stops dequeuing and waits for in-flight jobs, bounded
                try:
                    await asyncio.wait_for(asyncio.shield(run), self.settings.shutdown_grace_s)
                except TimeoutError:
                    log.warning(
                        "worker.grace_expired",
                        worker=self.settings.name,
                        inflight=len(self.inflight),
                    )
                    for task in list(self.inflight):
                        task.cancel()  # kills the scripts' process groups, releases the items
                    await asyncio.gather(*self.inflight, return_exceptions=True)
                    run.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await run
            stop_wait.cancel()
            if run.done() and not run.cancelled() and run.exception() is not None:
                raise run.exception()  # type: ignore[misc]
            if not self.stopping.is_set():
                raise ConnectionError("queue manager stopped: listener or connection failed")
        finally:
            self._qm = None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2)

    async def run(self) -> None:
        """Supervisor: run the queue manager, rebuild it after connection loss, until stopped."""
        backoff = 0.5
        while not self.stopping.is_set():
            try:
                await self._run_once()
                backoff = 0.5
            except (OSError, ConnectionError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning(
                    "worker.connection_lost",
                    worker=self.settings.name,
                    error=str(exc),
                    retry_in_s=backoff,
                )
            except Exception:
                log.exception("worker.crashed", worker=self.settings.name)
            if self.stopping.is_set():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), backoff)
            backoff = min(backoff * 2, 10.0)


async def main_async(settings: WorkerSettings | None = None) -> None:
    settings = settings or WorkerSettings.from_env()
    init_engine(application_name=settings.name)
    worker = Worker(settings)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, worker.request_stop)
    try:
        await worker.run()
    finally:
        await dispose_engine()
        log.info("worker.stopped", worker=settings.name)
