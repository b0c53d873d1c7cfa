"""Benchmark (not a test): Notion requests per sync cycle and time to converge, ours vs naive.

    uv run python benchmarks/notion_sync.py [--rows 100 1000 10000] [--speedup 100] [--methods ours naive]

Boards of N rows with 1% changed (see notion_sync_board.py), synced against the Notion fake:
- ours: one incremental poll (rows edited since the cursor) then pushes of only what changed,
  cycles as the leader runs them (production limits: at most 90 writes per push cycle);
- naive: the original project's loop: query the whole board, then write every task's row.

Both go through the real client and the PostgreSQL limiter, with the rate multiplied by
``--speedup`` (the fake's limit too) so the 10,000-row naive cycle finishes. Requests are
counted exactly at the fake; "at 3 req/s" is requests x the limiter's interval at the real rate
(what pacing alone costs), and "measured" is the wall time at the sped-up rate.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass
from pathlib import Path

# Run as a script, Python puts benchmarks/ first on the path, where queue.py would shadow the
# standard library's queue; the project root goes there instead.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from sqlalchemy import select  # noqa: E402

from app.core.database import dispose_engine, get_engine, init_engine, session_scope  # noqa: E402
from app.models import Channel  # noqa: E402
from app.notion.client import NotionClient  # noqa: E402
from app.notion.push import Pusher, file_link  # noqa: E402
from app.notion.rate_limit import DEFAULT_MARGIN, PostgresRateLimiter  # noqa: E402
from app.notion.sync import NotionSync  # noqa: E402
from benchmarks.notion_sync_board import (  # noqa: E402
    Scenario,
    build,
    converged,
    drop_database,
    fresh_database,
    naive_cycle,
)
from tests.fakes.notion import DEFAULT_TOKEN, NotionFake, create_app  # noqa: E402
from tests.fakes.server import serve  # noqa: E402

REAL_RATE = 3.0
REAL_INTERVAL = (1 / REAL_RATE) * (1 + DEFAULT_MARGIN)


@dataclass
class Result:
    rows: int
    method: str
    requests: int
    cycles: int
    idle_requests: int
    measured_s: float

    @property
    def at_real_rate_s(self) -> float:
        return self.requests * REAL_INTERVAL


def client(url: str, rate: float, bucket: str) -> NotionClient:
    limiter = PostgresRateLimiter(get_engine(), bucket=bucket, rate=rate)
    return NotionClient(token=DEFAULT_TOKEN, limiter=limiter, base_url=url)


async def run_ours(
    fake: NotionFake, url: str, scenario: Scenario, rate: float
) -> tuple[int, int, int, float]:
    notion = client(url, rate, f"bench-ours-{scenario.database_id}")
    sync = NotionSync(notion, pusher=Pusher(notion, link=file_link(Path("/tmp"))))
    await sync.board(scenario.database_id)  # the leader reads the schema once, at start
    mark, started, cycles = fake.mark(), time.monotonic(), 0
    while not await converged(fake, scenario):
        if cycles == 0:
            await sync.poll_all()
        await sync.push_all()
        cycles += 1
    measured = time.monotonic() - started
    spent = len(fake.calls_since(mark))
    idle_mark = fake.mark()
    await sync.poll_all()  # a cycle with nothing new: the poll still runs, sees our own writes
    await sync.push_all()
    idle = len(fake.calls_since(idle_mark))
    await notion.aclose()
    return spent, cycles, idle, measured


async def run_naive(
    fake: NotionFake, url: str, scenario: Scenario, rate: float
) -> tuple[int, int, int, float]:
    notion = client(url, rate, f"bench-naive-{scenario.database_id}")
    async with session_scope() as session:
        channel_id = (
            await session.scalars(
                select(Channel.id).where(Channel.notion_database_id == scenario.database_id)
            )
        ).one()
    mark, started = fake.mark(), time.monotonic()
    await naive_cycle(notion, scenario, channel_id)
    measured = time.monotonic() - started
    assert await converged(fake, scenario), "the naive cycle should converge in one pass"
    spent = len(fake.calls_since(mark))
    await notion.aclose()
    return spent, 1, spent, measured


async def bench(rows: int, method: str, speedup: float) -> Result:
    fake = NotionFake(rate=REAL_RATE * speedup, window=1.0)
    with serve(create_app(fake)) as root:
        scenario = await build(fake, rows)
        runner = run_ours if method == "ours" else run_naive
        spent, cycles, idle, measured = await runner(
            fake, root + "/v1", scenario, REAL_RATE * speedup
        )
    return Result(rows, method, spent, cycles, idle, measured)


def table(results: list[Result], speedup: float) -> str:
    lines = [
        "| rows | method | requests to converge | push cycles | requests per idle cycle "
        f"| seconds at 3 req/s | measured s (at {speedup:g}x) |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.rows:,} | {r.method} | {r.requests:,} | {r.cycles} | {r.idle_requests:,} "
            f"| {r.at_real_rate_s:,.1f} | {r.measured_s:.1f} |"
        )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--speedup", type=float, default=100.0)
    parser.add_argument(
        "--methods", nargs="+", choices=["ours", "naive"], default=["ours", "naive"]
    )
    args = parser.parse_args()
    admin, name = await fresh_database()
    init_engine(application_name="bench-notion")
    results = []
    try:
        for rows in args.rows:
            for method in args.methods:
                result = await bench(rows, method, args.speedup)
                print(
                    f"{rows:>6} rows  {method:<5}  {result.requests:>6} requests  {result.measured_s:6.1f} s",
                    flush=True,
                )
                results.append(result)
    finally:
        await dispose_engine()
        await drop_database(admin, name)
    print()
    print(table(results, args.speedup))


if __name__ == "__main__":
    asyncio.run(main())
