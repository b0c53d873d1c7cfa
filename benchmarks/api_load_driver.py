"""The API load benchmark's moving parts: the web service under test and the load generator.

The service is the real one, ``python -m app.cli web`` (uvicorn, no reload, no access log, log
level WARNING, ``WEB_CONCURRENCY`` uvicorn worker processes), started with its output in a log
file so no pipe reader competes for the CPU being measured. The load is closed-loop: C clients,
each sending its next request as soon as the last one answered, over keep-alive connections of
one ``httpx.AsyncClient`` in this process. Latency is measured at the client, so it includes the
client's own scheduling delay; the client's CPU share is reported next to it for that reason.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from app.core.config import PROJECT_ROOT
from app.models import Task
from app.pipeline.service import encode_cursor
from benchmarks._common import free_port, signal_group, tree_cpu_s
from benchmarks.api_load_seed import SeedInfo
from benchmarks.queue_fleet import BENCH_API_TOKEN, CHANNEL_YAML
from benchmarks.queue_tasks import percentile

API = "/api/v1"


@dataclass
class WebServer:
    run_dir: Path
    database_url: str
    channel_slugs: Sequence[str]
    workers: int = 1
    # The tree the service runs from: another checkout (an older commit) gives before/after
    # figures against the same database and client.
    app_root: Path = PROJECT_ROOT
    label: str = "this"
    # Set: run the bare yardstick (``api_load_bare``) on this asyncpg DSN instead of the service.
    bare_dsn: str | None = None
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.run_dir / f"web-{self.label}-{self.workers}w.log"

    def start(self, timeout_s: float = 90) -> None:
        """Spawn the service and wait for ``/ready``; on failure stop it and show its log."""
        configs = self.run_dir / "channel_configs"
        configs.mkdir(parents=True, exist_ok=True)
        for slug in self.channel_slugs:
            # Inactive: nothing is dispatched while the API is measured, and the start-up checks
            # ask no provider keys of an inactive channel.
            text = CHANNEL_YAML.format(slug=slug, max_concurrent=1)
            (configs / f"{slug}.yaml").write_text(text.replace("active: true", "active: false"))
        env = dict(os.environ)
        env.update(
            {
                "DATABASE_URL": self.database_url,
                "API_TOKEN": BENCH_API_TOKEN,
                "WORKSPACE_ROOT": str(self.run_dir / "workspace"),
                "CHANNEL_CONFIGS_DIR": str(configs),
                "LOG_LEVEL": "WARNING",
                "WEB_CONCURRENCY": str(self.workers),
                "PYTHONUNBUFFERED": "1",
            }
        )
        command = [sys.executable, "-m", "app.cli", "web", "--port", str(self.port)]
        if self.bare_dsn is not None:
            env["BARE_DSN"] = self.bare_dsn
            command = [
                sys.executable, "-m", "uvicorn", "benchmarks.api_load_bare:app",
                "--port", str(self.port), "--no-access-log", "--log-level", "warning",
            ]  # fmt: skip
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                command,
                cwd=self.app_root,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_ready(timeout_s)
        except BaseException:
            self.stop(grace_s=5)
            raise

    def _wait_ready(self, timeout_s: float) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"web exited at start:\n{self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(self.base_url + "/ready", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"web not ready:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.2)

    def cpu_s(self) -> float:
        return tree_cpu_s(self.proc.pid) if self.proc is not None else 0.0

    def stop(self, grace_s: float = 15) -> None:
        if self.proc is None:
            return
        signal_group(self.proc, signal.SIGTERM)
        try:
            self.proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            signal_group(self.proc, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None


@dataclass(frozen=True)
class Endpoint:
    name: str
    paths: tuple[str, ...]  # taken in turn, so a client does not hit one row only


async def build_endpoints(dsn: str, info: SeedInfo, *, deep_pages: int = 5) -> list[Endpoint]:
    """The four request kinds; the deep page is a filtered list 80% of the way down its result."""
    slug = info.channel_slugs[0]
    conn = await asyncpg.connect(dsn)
    try:
        matching = await conn.fetch(
            "SELECT t.created_at, t.id FROM tasks t JOIN channels c ON c.id = t.channel_id"
            " WHERE c.slug = $1 AND t.status = 'published' ORDER BY t.created_at DESC, t.id DESC",
            slug,
        )
    finally:
        await conn.close()
    start = int(len(matching) * 0.8)
    cursors = [
        encode_cursor(Task(created_at=row["created_at"], id=row["id"]))
        for row in matching[start : start + deep_pages]
    ]
    deep = tuple(
        f"{API}/tasks?channel_id={slug}&status=published&limit=50&cursor={c}" for c in cursors
    )
    return [
        Endpoint("tasks_first_page", (f"{API}/tasks?limit=50",)),
        Endpoint("tasks_deep_filtered", deep or (f"{API}/tasks?channel_id={slug}&limit=50",)),
        Endpoint("task_detail", tuple(f"{API}/tasks/{task_id}" for task_id in info.detail_ids)),
        Endpoint("reviews", (f"{API}/reviews?limit=50",)),
    ]


@dataclass
class LoadResult:
    endpoint: str
    concurrency: int
    workers: int
    tree: str  # "this", or "baseline" for --baseline-root
    elapsed_s: float
    requests: int
    errors: int
    latencies_ms: list[float] = field(repr=False)
    load_avg_1m: float
    client_cpu: float  # cores' worth, e.g. 0.6 = 60% of one core
    server_cpu: float
    db_cpu: float | None
    response_bytes: int = 0  # bodies of the successful responses, in total
    error_samples: list[str] = field(default_factory=list)
    driver: str = "httpx"  # or "wrk" (``api_load_wrk``): latencies_ms then holds p1..p100

    @property
    def bytes_per_response(self) -> float:
        return self.response_bytes / max(1, self.requests - self.errors)

    @property
    def throughput(self) -> float:
        return self.requests / self.elapsed_s if self.elapsed_s else 0.0

    @property
    def web_cpu_ms(self) -> float:
        """The web service's CPU per request (less sensitive to other load than latency is)."""
        return 1000 * self.server_cpu * self.elapsed_s / self.requests if self.requests else 0.0

    def pct(self, q: float) -> float:
        return percentile(self.latencies_ms, q) if self.latencies_ms else float("nan")

    def summary(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "concurrency": self.concurrency,
            "web_workers": self.workers,
            "tree": self.tree,
            "requests": self.requests,
            "errors": self.errors,
            "elapsed_s": round(self.elapsed_s, 3),
            "throughput_rps": round(self.throughput, 1),
            "p50_ms": round(self.pct(50), 2),
            "p90_ms": round(self.pct(90), 2),
            "p99_ms": round(self.pct(99), 2),
            "max_ms": round(max(self.latencies_ms, default=float("nan")), 2),
            "mean_response_bytes": int(self.bytes_per_response),
            "driver": self.driver,
            "load_avg_1m": round(self.load_avg_1m, 2),
            "client_cpu_cores": round(self.client_cpu, 2),
            "server_cpu_cores": round(self.server_cpu, 2),
            "web_cpu_ms_per_request": round(self.web_cpu_ms, 2),
            "db_cpu_cores": None if self.db_cpu is None else round(self.db_cpu, 2),
            "error_samples": self.error_samples,
        }


async def drive(
    client: httpx.AsyncClient,
    endpoint: Endpoint,
    *,
    concurrency: int,
    duration_s: float,
    server: WebServer,
    db_cpu_s: Callable[[], float] | None = None,
) -> LoadResult:
    """``concurrency`` closed-loop clients for ``duration_s``; requests in flight at the end finish
    and count, so the elapsed time runs to the last answer."""
    latencies: list[float] = []
    errors: list[str] = []
    received = 0
    paths = endpoint.paths
    deadline = time.perf_counter() + duration_s

    async def one_client(offset: int) -> None:
        nonlocal received
        n = offset
        while time.perf_counter() < deadline:
            path = paths[n % len(paths)]
            n += concurrency
            sent = time.perf_counter()
            try:
                response = await client.get(path)
                ok = response.status_code == 200
                if not ok:
                    errors.append(f"{response.status_code} {response.text[:200]}")
            except httpx.HTTPError as exc:
                ok = False
                errors.append(f"{type(exc).__name__}: {exc}"[:200])
            if ok:
                latencies.append((time.perf_counter() - sent) * 1000)
                received += len(response.content)

    load = os.getloadavg()[0]
    cpu0, web0, db0 = time.process_time(), server.cpu_s(), db_cpu_s() if db_cpu_s else 0.0
    started = time.perf_counter()
    await asyncio.gather(*(one_client(i) for i in range(concurrency)))
    elapsed = time.perf_counter() - started
    db_cpu = (db_cpu_s() - db0) / elapsed if db_cpu_s else None
    return LoadResult(
        endpoint=endpoint.name,
        concurrency=concurrency,
        workers=server.workers,
        tree=server.label,
        elapsed_s=elapsed,
        requests=len(latencies) + len(errors),
        errors=len(errors),
        latencies_ms=latencies,
        load_avg_1m=load,
        client_cpu=(time.process_time() - cpu0) / elapsed,
        server_cpu=(server.cpu_s() - web0) / elapsed,
        db_cpu=db_cpu,
        response_bytes=received,
        error_samples=sorted(set(errors))[:3],
    )


def make_client(base_url: str, concurrency: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(
        base_url=base_url,
        headers={"Authorization": f"Bearer {BENCH_API_TOKEN}"},
        limits=limits,
        timeout=httpx.Timeout(30.0),
    )
