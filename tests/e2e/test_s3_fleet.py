"""Workers that share no disk: three workers, each with its own empty workspace, and the S3 store.

As on Railway (one disk per service), every input a step needs reaches its worker through the
bucket; a SIGKILL moves an item to another worker (a fresh one, with an empty cache), which
finishes it from what the bucket holds, and the video publishes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import av
import boto3
import pytest
from cryptography.fernet import Fernet

from tests.e2e.harness import FleetHarness, published, short_plan, wait_for
from tests.services.s3_support import (
    ACCESS_KEY_ID,
    SECRET_ACCESS_KEY,
    moto_server,
    new_bucket_name,
)

pytestmark = pytest.mark.slow

# the holders of these items are SIGKILLed: a clip mid-step, and the final cut
PAUSE_POINTS = ["videos:scene-01", "assembly:final"]


@pytest.fixture
def bucket_endpoint() -> Iterator[tuple[str, str]]:
    with moto_server() as url:
        bucket = new_bucket_name()
        _client(url).create_bucket(Bucket=bucket)
        yield url, bucket


def _client(url: str) -> object:
    return boto3.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
        region_name="us-east-1",
    )


def _duration(path: Path) -> float:
    with av.open(str(path)) as container:
        assert container.duration is not None
        return container.duration / 1_000_000


def _own_workspace(fleet: FleetHarness, root: Path, name: str) -> Path:
    workspace = root / name
    workspace.mkdir(parents=True)
    fleet.process_env[name] = {"WORKSPACE_ROOT": str(workspace)}
    return workspace


def test_fleet_without_a_shared_disk_publishes_through_the_bucket_despite_a_kill(
    fleet: FleetHarness, bucket_endpoint: tuple[str, str], tmp_path: Path
) -> None:
    url, bucket = bucket_endpoint
    pause_dir = tmp_path / "pauses"
    fleet.env_extra.update(
        {
            "ARTIFACT_STORE": "s3",
            "S3_ENDPOINT_URL": url,
            "S3_BUCKET": bucket,
            "S3_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "S3_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            "S3_REGION": "us-east-1",
            "FERNET_KEYS": Fernet.generate_key().decode(),  # one key fleet-wide, as deployed
            "VIDGEN_FAULT_PAUSE_AT": ",".join(PAUSE_POINTS),
            "VIDGEN_FAULT_PAUSE_DIR": str(pause_dir),
        }
    )
    machines = tmp_path / "machines"
    workspaces = [_own_workspace(fleet, machines, f"worker-{i}") for i in (1, 2, 3)]
    fleet.start()
    kills: list[str] = []
    with fleet.client() as client:
        task_id = client.post(
            "/api/v1/tasks",
            json={"channel_slug": "e2e", "title": "No shared disk", "plan": short_plan(2)},
        ).json()["data"]["id"]
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            for marker in sorted(pause_dir.glob("*.json")) if pause_dir.exists() else []:
                info = json.loads(marker.read_text())
                victim = next(n for n, p in fleet.procs.items() if p.popen.pid == info["pid"])
                fleet.kill(victim)
                kills.append(f"{info['step']}:{info['item']}")
                marker.unlink()
                name = f"worker-r{len(kills)}"
                workspaces.append(_own_workspace(fleet, machines, name))
                fleet.spawn(name, "worker")
            detail = client.get(f"/api/v1/tasks/{task_id}").json()["data"]
            if detail["status"] in ("published", "failed"):
                break
            if detail["status"] == "awaiting_review":
                client.post(f"/api/v1/tasks/{task_id}/approve", json={})
            time.sleep(0.2)
        detail = wait_for(client, task_id, until=published, harness=fleet, timeout=30)
        final_url = f"/api/v1/tasks/{task_id}/artifacts/final/video.mp4"
        head_bytes = client.get(final_url, headers={"Range": "bytes=0-99"})

    assert sorted(kills) == sorted(PAUSE_POINTS), fleet.all_logs()
    attempts = {f"{i['step']}:{i['item_key']}": i["attempts"] for i in detail["items"]}
    assert {k: attempts[k] for k in PAUSE_POINTS} == dict.fromkeys(PAUSE_POINTS, 2)
    assert max(attempts.values()) == 2

    # the bucket holds the final cut and its published copy, byte for byte the same
    s3 = _client(url)
    final_key = detail["final_video_key"]
    final = tmp_path / "final.mp4"
    s3.download_file(bucket, final_key, str(final))  # type: ignore[attr-defined]
    copy = tmp_path / "published.mp4"
    s3.download_file(bucket, f"published/{task_id}.mp4", str(copy))  # type: ignore[attr-defined]
    assert copy.read_bytes() == final.read_bytes()
    # ... and the web service serves it from the bucket
    assert head_bytes.status_code == 206 and head_bytes.content == final.read_bytes()[:100]

    # a valid video as long as its scenes back to back, each at least a second
    prefix = final_key.rsplit("/final/", 1)[0]
    durations = []
    for number in (1, 2):
        segment = tmp_path / f"segment-{number}.mp4"
        s3.download_file(bucket, f"{prefix}/segments/scene-{number:02d}.mp4", str(segment))  # type: ignore[attr-defined]
        durations.append(_duration(segment))
    assert all(d >= 1.0 for d in durations)
    assert _duration(final) == pytest.approx(sum(durations), abs=0.25)
    with av.open(str(final)) as container:
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (1920, 1080)
        assert container.streams.audio, "the final video has no audio track"
        frame = next(container.decode(video=0)).to_ndarray(format="gray")
        assert frame.std() > 5, "the first frame is flat (black or blank)"

    # no process shared a disk: the web's workspace has no artifacts, and the workers' caches
    # hold only what they fetched or made (several of them took part)
    assert not (fleet.workspace / prefix).exists()
    assert not (fleet.workspace / "published").exists()
    busy = [w for w in workspaces if (w / "cache" / prefix).is_dir()]
    assert len(busy) >= 2, [str(w) for w in workspaces]
