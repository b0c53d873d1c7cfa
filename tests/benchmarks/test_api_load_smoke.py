"""The API load benchmark's whole code path on a small seed: seeding, the real web service in a
subprocess, every endpoint driven over loopback, the report. Figures are not checked (they depend
on the machine); that every request succeeded and the report is complete is."""

from __future__ import annotations

import json
import math
from pathlib import Path

import asyncpg

from app.core.config import asyncpg_dsn
from benchmarks.api_load import LoadConfig, run_load

ENDPOINTS = {"tasks_first_page", "tasks_deep_filtered", "task_detail", "reviews"}


async def test_small_run_reports_every_endpoint_without_errors(db_url: str, tmp_path: Path) -> None:
    config = LoadConfig(tasks=200, duration_s=1.0, warmup_s=0.0, concurrency=(2,))
    dsn = asyncpg_dsn(db_url)

    report = await run_load(config, dsn=dsn, database_url=db_url, run_dir=tmp_path)

    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM tasks") == 200
        assert await conn.fetchval("SELECT count(*) FROM task_items") > 200 * 5
        assert await conn.fetchval("SELECT count(*) FROM video_costs") > 0
        waiting = await conn.fetchval("SELECT count(*) FROM tasks WHERE status = 'awaiting_review'")
    finally:
        await conn.close()
    assert waiting > 0  # the review listing has something to list
    assert report.seed.rows["tasks"] == 200

    summaries = report.to_json()["results"]
    ours = [s for s in summaries if s["tree"] == "this"]
    assert {s["endpoint"] for s in ours} == ENDPOINTS
    # the bare yardstick serves the task list only, measured beside ours in the same run
    assert [s["endpoint"] for s in summaries if s["tree"] == "bare"] == ["tasks_first_page"]
    for s in summaries:
        assert s["concurrency"] == 2 and s["web_workers"] == 1
        assert s["errors"] == 0, s["error_samples"]
        assert s["requests"] > 0
        assert s["throughput_rps"] > 0
        assert 0 < s["p50_ms"] <= s["p90_ms"] <= s["p99_ms"] <= s["max_ms"]
        # full pages (50 tasks, or a review page with its artifact links), not empty envelopes
        assert s["mean_response_bytes"] > 2000, s
        assert not math.isnan(s["server_cpu_cores"]) and s["server_cpu_cores"] > 0
    json.dumps(report.to_json())  # what the benchmark writes must be plain JSON

    figures = report.figures()
    assert figures["api_rps"] and figures["bare_rps"] and figures["api_p99_ms"]
    assert figures["api_vs_bare"] == figures["api_rps"] / figures["bare_rps"]
    assert figures["errors"] == 0

    table = report.markdown()
    assert all(f"| {name} | this | 1 | 2 |" in table for name in ENDPOINTS)
    assert "load average" in table
