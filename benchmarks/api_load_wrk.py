"""The API load benchmark's load generator when Debian's ``wrk`` is installed (``apt-get install wrk``).

The httpx client (``api_load_driver.drive``) shares this process's one Python thread with its
bookkeeping and costs about as much CPU per request as a bare server does, so at 10 clients and
up it measures itself as much as the server. ``wrk`` (C, one thread here) costs a small part of
that. Same closed loop: C keep-alive connections, each sending its next request when the last one
answered, the endpoint's paths taken in turn. Its Lua ``done`` hook prints the counts and the
latency percentiles 1..100, which ``LoadResult`` holds in place of every sample (nearest rank on
those 100 values gives the same p50/p90/p99/max).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypedDict

from benchmarks.api_load_driver import Endpoint, LoadResult, WebServer
from benchmarks.queue_fleet import BENCH_API_TOKEN

MARK = "WRK-FIGURES "
_SCRIPT = """
local paths = {%(paths)s}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n %% #paths) + 1])
end
done = function(summary, latency, requests)
  local p = {}
  for q = 1, 100 do p[q] = latency:percentile(q) / 1000 end
  local e = summary.errors
  io.write(string.format('%(mark)s{"requests":%%d,"duration_us":%%d,"bytes":%%d,"status_errors":%%d,'
    .. '"socket_errors":%%d,"pcts":[%%s]}\\n', summary.requests, summary.duration, summary.bytes,
    e.status, e.connect + e.read + e.write + e.timeout, table.concat(p, ",")))
end
"""


class WrkFigures(TypedDict):
    requests: int
    duration_us: int
    bytes: int
    status_errors: int
    socket_errors: int
    pcts: list[float]  # ms at percentiles 1..100


def wrk_binary() -> str | None:
    return shutil.which("wrk")


def _script(endpoint: Endpoint, run_dir: Path) -> Path:
    path = run_dir / f"wrk-{endpoint.name}.lua"
    paths = ", ".join(f"[[{p}]]" for p in endpoint.paths)
    path.write_text(_SCRIPT % {"paths": paths, "mark": MARK})
    return path


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def _run_wrk(
    endpoint: Endpoint, server: WebServer, concurrency: int, duration_s: float
) -> WrkFigures:
    proc = await asyncio.create_subprocess_exec(
        wrk_binary() or "wrk",
        "-t1",
        f"-c{concurrency}",
        f"-d{max(1, round(duration_s))}s",
        "--timeout",
        "60s",
        "-H",
        f"Authorization: Bearer {BENCH_API_TOKEN}",
        "-s",
        str(_script(endpoint, server.run_dir)),
        server.base_url + endpoint.paths[0],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    text = out.decode(errors="replace")
    line = next((ln for ln in text.splitlines() if ln.startswith(MARK)), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{text[-2000:]}")
    figures: WrkFigures = json.loads(line.removeprefix(MARK))
    return figures


async def drive_wrk(
    endpoint: Endpoint,
    *,
    concurrency: int,
    duration_s: float,
    server: WebServer,
    db_cpu_s: Callable[[], float] | None = None,
) -> LoadResult:
    """``concurrency`` closed-loop connections of one ``wrk`` thread for ``duration_s``."""
    load = os.getloadavg()[0]
    cpu0, web0, db0 = _children_cpu_s(), server.cpu_s(), db_cpu_s() if db_cpu_s else 0.0
    started = time.perf_counter()
    figures = await _run_wrk(endpoint, server, concurrency, duration_s)
    wall = time.perf_counter() - started
    errors = figures["status_errors"] + figures["socket_errors"]
    return LoadResult(
        endpoint=endpoint.name,
        concurrency=concurrency,
        workers=server.workers,
        tree=server.label,
        elapsed_s=figures["duration_us"] / 1e6,
        requests=figures["requests"],
        errors=errors,
        latencies_ms=[float(p) for p in figures["pcts"]],
        load_avg_1m=load,
        client_cpu=(_children_cpu_s() - cpu0) / wall,
        server_cpu=(server.cpu_s() - web0) / wall,
        db_cpu=(db_cpu_s() - db0) / wall if db_cpu_s else None,
        # wrk counts header bytes too: about 150 per response, small beside a page
        response_bytes=figures["bytes"],
        error_samples=[f"{errors} non-2xx or socket errors (wrk)"] if errors else [],
        driver="wrk",
    )
