"""API load benchmark: ``uv run python benchmarks/api_load.py [--quick] [--json] [--web-workers 1 2]``.

Seeds a fresh database (embedded server in ``workspace/bench-postgres``, or ``DATABASE_URL``'s)
with 10,000 tasks and their steps, items, costs and audit rows (``api_load_seed``), starts the
real web service (``python -m app.cli web``) and drives it over loopback at each concurrency for
a fixed time per endpoint: the task list's first page, a deep cursor page of a filtered list, the
task detail, and the review queue. Prints a markdown table per endpoint x concurrency (requests,
req/s, p50/p90/p99/max, errors, and where the CPU went) and writes the same as JSON to
``workspace/benchmarks/api_load.json``. The task list is also measured on a bare yardstick
(``api_load_bare``: raw asyncpg, the same columns, the standard ``json``), so the figure that
matters on a shared machine is the ratio; ``--json`` prints the figures as the last stdout line.

Client, server and PostgreSQL share this machine's cores, so each row carries the 1-minute load
average when it began and the CPU each party used (in cores: 1.0 = one core busy throughout).
Target (issue 10): task list p99 under 50 ms at 50 concurrent clients.
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":
    # benchmarks/queue.py would shadow the stdlib's queue: put the project root first instead.
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import argparse
import asyncio
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.config import PROJECT_ROOT
from benchmarks._common import with_database
from benchmarks.api_load_driver import (
    Endpoint,
    LoadResult,
    WebServer,
    build_endpoints,
    drive,
    make_client,
)
from benchmarks.api_load_seed import SeedInfo, seed, seed_info
from benchmarks.api_load_wrk import drive_wrk, wrk_binary

JSON_PATH = PROJECT_ROOT / "workspace" / "benchmarks" / "api_load.json"
TARGET_ENDPOINT, TARGET_CONCURRENCY, TARGET_P99_MS = "tasks_first_page", 50, 50.0
BARE = "bare"  # the yardstick's tree label
FIGURES_CONCURRENCY = 10  # the --json figures are taken at this many clients (issue 17)


@dataclass
class LoadConfig:
    tasks: int = 10_000
    duration_s: float = 10.0
    warmup_s: float = 1.0
    concurrency: Sequence[int] = (1, 10, 25, 50, 100)
    web_workers: Sequence[int] = (1,)
    baseline_root: Path | None = None  # measured first, with one web process
    endpoints: Sequence[str] | None = None  # None: all
    bare: bool = True  # also measure the bare yardstick (``api_load_bare``) on the task list
    driver: str = "auto"  # "wrk" when installed (``api_load_wrk``), else the httpx client


@dataclass
class LoadReport:
    config: LoadConfig
    seed: SeedInfo
    db_settings: dict[str, str] = field(default_factory=dict)
    results: list[LoadResult] = field(default_factory=list)
    started_load: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def targets(self) -> list[LoadResult]:
        return [
            r
            for r in self.results
            if (r.endpoint, r.concurrency) == (TARGET_ENDPOINT, TARGET_CONCURRENCY)
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "config": {
                "tasks": self.config.tasks,
                "duration_s": self.config.duration_s,
                "concurrency": list(self.config.concurrency),
                "web_workers": list(self.config.web_workers),
                "baseline_root": str(self.config.baseline_root or ""),
            },
            "rows_seeded": self.seed.rows,
            "db_settings": self.db_settings,
            "load_avg_at_start": self.started_load,
            "cpu_count": os.cpu_count(),
            "results": [r.summary() for r in self.results],
        }

    def _at(self, tree: str, endpoint: str) -> LoadResult | None:
        """The row at the figures' concurrency (else the nearest measured one)."""
        rows = [r for r in self.results if (r.tree, r.endpoint) == (tree, endpoint)]
        return min(rows, key=lambda r: abs(r.concurrency - FIGURES_CONCURRENCY), default=None)

    def figures(self) -> dict[str, float | int | str | None]:
        """The ``--json`` figures: our task list and review queue next to the bare yardstick."""
        api, bare = self._at("this", TARGET_ENDPOINT), self._at(BARE, TARGET_ENDPOINT)
        reviews = self._at("this", "reviews")
        return {
            "clients": api.concurrency if api else None,
            "api_rps": api.throughput if api else None,
            "api_p99_ms": api.pct(99) if api else None,
            "bare_rps": bare.throughput if bare else None,
            "bare_p99_ms": bare.pct(99) if bare else None,
            "api_vs_bare": api.throughput / bare.throughput if api and bare else None,
            "reviews_rps": reviews.throughput if reviews else None,
            "reviews_p99_ms": reviews.pct(99) if reviews else None,
            "reviews_kb_per_response": (reviews.bytes_per_response / 1024 if reviews else None),
            "driver": api.driver if api else None,
            "errors": sum(r.errors for r in self.results),
            "load_1min_at_start": self.started_load[0],
        }

    def markdown(self) -> str:
        lines = [
            f"API load: {self.seed.rows.get('tasks', 0):,} tasks, {self.config.duration_s:g} s per "
            f"row, {os.cpu_count()} cores shared by client, web and PostgreSQL; load average at "
            f"start {' / '.join(f'{x:.2f}' for x in self.started_load)}",
            "",
            "| endpoint | tree | web procs | clients | requests | req/s | p50 ms | p90 ms | p99 ms "
            "| max ms | errors | KB/resp | web CPU ms/req | load 1m | CPU client / web / db |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for r in self.results:
            db = "-" if r.db_cpu is None else f"{r.db_cpu:.2f}"
            lines.append(
                f"| {r.endpoint} | {r.tree} | {r.workers} | {r.concurrency} | {r.requests:,} | "
                f"{r.throughput:,.0f} | {r.pct(50):.1f} | {r.pct(90):.1f} | {r.pct(99):.1f} | "
                f"{max(r.latencies_ms, default=float('nan')):.1f} | {r.errors} | "
                f"{r.bytes_per_response / 1024:.1f} | {r.web_cpu_ms:.1f} | "
                f"{r.load_avg_1m:.2f} | {r.client_cpu:.2f} / {r.server_cpu:.2f} / {db} |"
            )
        for target in self.targets():
            ok = target.pct(99) < TARGET_P99_MS
            lines.append(
                f"\nTarget ({target.tree}, {target.workers} web procs): {TARGET_ENDPOINT} p99 at "
                f"{TARGET_CONCURRENCY} clients < {TARGET_P99_MS:g} ms: {target.pct(99):.1f} ms "
                f"{'✅' if ok else '❌'}"
            )
        return "\n".join(lines)


def _say(message: str) -> None:
    print(f"[api-load {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


async def run_load(
    config: LoadConfig,
    *,
    dsn: str,
    database_url: str,
    run_dir: Path,
    db_cpu_s: Callable[[], float] | None = None,
    seeded: bool = False,
) -> LoadReport:
    """Seed the (migrated, empty) database unless ``seeded``, then measure each variant in turn."""
    if seeded:
        info = await seed_info(dsn)
    else:
        _say(f"seeding {config.tasks:,} tasks")
        started = time.monotonic()
        info = await seed(dsn, tasks=config.tasks)
        _say(f"seeded {info.rows} in {time.monotonic() - started:.1f} s")
    endpoints = await build_endpoints(dsn, info)
    if config.endpoints is not None:
        endpoints = [e for e in endpoints if e.name in config.endpoints]
    report = LoadReport(config=config, seed=info, started_load=os.getloadavg())
    variants = [("this", PROJECT_ROOT, workers) for workers in config.web_workers]
    if config.baseline_root is not None:
        variants.insert(0, ("baseline", config.baseline_root, 1))
    if config.bare:
        variants.insert(0, (BARE, PROJECT_ROOT, 1))
    use_wrk = config.driver == "wrk" or (config.driver == "auto" and wrk_binary() is not None)
    _say(f"load generator: {'wrk' if use_wrk else 'httpx'}")
    for label, root, workers in variants:
        server = WebServer(
            run_dir=run_dir,
            database_url=database_url,
            channel_slugs=info.channel_slugs,
            workers=workers,
            app_root=root,
            label=label,
            bare_dsn=dsn if label == BARE else None,
        )
        await asyncio.to_thread(server.start)
        try:
            for endpoint in endpoints:
                if label == BARE and endpoint.name != TARGET_ENDPOINT:
                    continue  # the yardstick serves the task list only
                for concurrency in config.concurrency:
                    result = await _measure(
                        endpoint, server, concurrency, config, db_cpu_s, use_wrk=use_wrk
                    )
                    report.results.append(result)
                    _say(
                        f"{label} {workers}w {endpoint.name} c={concurrency}: {result.throughput:.0f} req/s"
                        f" p50 {result.pct(50):.1f} p99 {result.pct(99):.1f} ms,"
                        f" {result.errors} errors [load {result.load_avg_1m:.2f}]"
                    )
        finally:
            await asyncio.to_thread(server.stop)
    return report


async def _measure(
    endpoint: Endpoint,
    server: WebServer,
    concurrency: int,
    config: LoadConfig,
    db_cpu_s: Callable[[], float] | None,
    *,
    use_wrk: bool,
) -> LoadResult:
    """A warm-up (not counted), then the measured run, with wrk or the httpx client."""
    if use_wrk:
        if config.warmup_s > 0:
            await drive_wrk(endpoint, concurrency=concurrency, duration_s=1, server=server)
        return await drive_wrk(
            endpoint,
            concurrency=concurrency,
            duration_s=config.duration_s,
            server=server,
            db_cpu_s=db_cpu_s,
        )
    async with make_client(server.base_url, concurrency) as client:
        if config.warmup_s > 0:
            await drive(
                client, endpoint, concurrency=concurrency, duration_s=config.warmup_s, server=server
            )
        return await drive(
            client,
            endpoint,
            concurrency=concurrency,
            duration_s=config.duration_s,
            server=server,
            db_cpu_s=db_cpu_s,
        )


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per row")
    parser.add_argument("--quick", action="store_true", help="2 s per row, 0.5 s warm-up")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 10, 25, 50, 100])
    parser.add_argument("--web-workers", type=int, nargs="+", default=[1])
    parser.add_argument("--endpoints", nargs="+", help="only these endpoint names")
    parser.add_argument(
        "--baseline-root",
        type=Path,
        help="also measure the service run from this tree (e.g. a worktree of an older commit)",
    )
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    parser.add_argument(
        "--driver",
        choices=["auto", "wrk", "httpx"],
        default="auto",
        help="load generator (auto: wrk when on PATH, else httpx)",
    )
    parser.add_argument("--no-bare", action="store_true", help="skip the bare yardstick")
    parser.add_argument(
        "--json", action="store_true", help="last stdout line: the figures as one JSON object"
    )
    parser.add_argument(
        "--database",
        help="use this already seeded database of the same server (a renamed --keep-db one)",
    )
    return parser.parse_args()


async def _main(ns: argparse.Namespace) -> None:
    from benchmarks.queue_db import create_bench_database

    config = LoadConfig(
        tasks=ns.tasks,
        duration_s=2.0 if ns.quick else ns.duration,
        warmup_s=0.5 if ns.quick else 1.0,
        concurrency=ns.concurrency,
        web_workers=ns.web_workers,
        endpoints=ns.endpoints,
        baseline_root=ns.baseline_root,
        bare=not ns.no_bare,
        driver=ns.driver,
    )
    run_dir = (
        PROJECT_ROOT / "workspace" / "bench-runs" / f"api-load-{time.strftime('%Y%m%d-%H%M%S')}"
    )
    run_dir.mkdir(parents=True, exist_ok=True)
    db = await create_bench_database()
    dsn, url = db.dsn, db.url
    if ns.database:  # the fresh database stays empty; the old one is measured
        dsn, url = with_database(db.dsn, ns.database), with_database(db.url, ns.database)
    try:
        report = await run_load(
            config,
            dsn=dsn,
            database_url=url,
            run_dir=run_dir,
            db_cpu_s=db.server_cpu_s,
            seeded=bool(ns.database),
        )
        report.db_settings = db.settings
    finally:
        if not ns.keep_db:
            await db.drop()
    JSON_PATH.parent.mkdir(parents=True, exist_ok=True)
    JSON_PATH.write_text(json.dumps(report.to_json(), indent=2) + "\n")
    print(report.markdown())
    _say(f"JSON in {JSON_PATH}, web log in {run_dir}")
    if ns.json:
        print(json.dumps(report.figures()), flush=True)


if __name__ == "__main__":
    asyncio.run(_main(_args()))
