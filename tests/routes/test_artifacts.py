"""GET /api/v1/tasks/{task_id}/artifacts and each artifact's bytes, with Range requests."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
from PIL import Image

from app.models import ItemStatus, PipelineStep, Task, TaskItem, TaskStatus
from app.pipeline.items import asset_key, clip_key, final_key, narration_key
from tests.routes.conftest import assert_error
from tests.routes.factories import add_channel, add_rows, add_task

CLIP = bytes(range(256)) * 40  # 10,240 bytes with a recognisable pattern
FINAL = b"final-video-" * 100


def _write(root: Path, key: str, data: bytes) -> Path:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


async def _task_with_artifacts(root: Path, slug: str = "demo") -> Task:
    channel = await add_channel(slug)
    task = await add_task(channel, title="Keeper", status=TaskStatus.AWAITING_REVIEW)
    image = root / asset_key(task, "keeper")
    image.parent.mkdir(parents=True)
    Image.new("RGB", (64, 36), (200, 120, 40)).save(image)
    _write(root, clip_key(task, 1), CLIP)
    _write(root, final_key(task), FINAL)
    # narration of scene 1 is recorded but its file is gone (a cleaned-up workspace)
    await add_rows(
        TaskItem(
            task_id=task.id,
            step=PipelineStep.ASSETS,
            item_key="keeper",
            status=ItemStatus.COMPLETED,
            output_keys={"output": asset_key(task, "keeper")},
        ),
        TaskItem(
            task_id=task.id,
            step=PipelineStep.VIDEOS,
            item_key="scene-01",
            scene_number=1,
            status=ItemStatus.COMPLETED,
            output_keys={"output": clip_key(task, 1)},
        ),
        TaskItem(
            task_id=task.id,
            step=PipelineStep.NARRATION,
            item_key="scene-01",
            scene_number=1,
            status=ItemStatus.COMPLETED,
            output_keys={"output": narration_key(task, 1)},
        ),
        TaskItem(task_id=task.id, step=PipelineStep.VIDEOS, item_key="scene-02", scene_number=2),
    )
    await _set_final(task)
    return task


async def _set_final(task: Task) -> None:
    from app.core.database import session_scope

    async with session_scope() as session:
        stored = await session.get(Task, task.id)
        assert stored is not None
        stored.final_video_key = final_key(task)


async def get_raw(http: httpx.AsyncClient, path: str) -> httpx.Response:
    """GET ``path`` with its ``..`` reaching the server: httpx (like browsers) resolves a literal
    ``..`` before sending, so send it as ``%2E%2E``, which the server decodes back to ``..``."""
    return await http.get(path.replace("..", "%2E%2E"))


def base(task: Task) -> str:
    return f"/api/v1/tasks/{task.id}/artifacts"


async def test_lists_every_artifact_in_pipeline_order(
    workspace_client: tuple[httpx.AsyncClient, Path],
) -> None:
    http, root = workspace_client
    task = await _task_with_artifacts(root)
    response = await http.get(base(task))
    assert response.status_code == 200, response.text
    listed = response.json()["data"]
    summary = [
        (a["step"], a["item_key"], a["scene_number"], a["kind"], a["content_type"], a["size"])
        for a in listed
    ]
    image_size = (root / asset_key(task, "keeper")).stat().st_size
    assert summary == [
        ("assets", "keeper", None, "image", "image/png", image_size),
        ("videos", "scene-01", 1, "video", "video/mp4", len(CLIP)),
        ("narration", "scene-01", 1, "audio", "audio/wav", None),
        ("assembly", None, None, "video", "video/mp4", len(FINAL)),
    ]
    assert [a["available"] for a in listed] == [True, True, False, True]
    assert listed[1]["key"] == clip_key(task, 1)
    assert listed[1]["url"] == f"{base(task)}/videos/scene-01.mp4"
    assert listed[3]["output"] == "final_video"
    # Each url serves exactly that file.
    for artifact, expected in ((listed[1], CLIP), (listed[3], FINAL)):
        fetched = await http.get(artifact["url"])
        assert fetched.status_code == 200 and fetched.content == expected


async def test_whole_file_without_range(workspace_client: tuple[httpx.AsyncClient, Path]) -> None:
    http, root = workspace_client
    task = await _task_with_artifacts(root)
    response = await http.get(f"{base(task)}/videos/scene-01.mp4")
    assert response.status_code == 200
    assert response.content == CLIP
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-length"] == str(len(CLIP))
    assert "content-range" not in response.headers
    image = await http.get(f"{base(task)}/assets/keeper.png")
    assert image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")


SATISFIABLE = [
    ("bytes=100-199", 100, 199),
    ("bytes=10000-", 10000, 10239),
    ("bytes=-100", 10140, 10239),
    ("bytes=10200-99999", 10200, 10239),  # an end past the file is cut to it
    ("bytes=0-0", 0, 0),
]


async def test_single_range_gets_206(workspace_client: tuple[httpx.AsyncClient, Path]) -> None:
    http, root = workspace_client
    task = await _task_with_artifacts(root)
    for header, start, end in SATISFIABLE:
        response = await http.get(f"{base(task)}/videos/scene-01.mp4", headers={"Range": header})
        assert response.status_code == 206, (header, response.text)
        assert response.content == CLIP[start : end + 1], header
        assert response.headers["content-range"] == f"bytes {start}-{end}/{len(CLIP)}"
        assert response.headers["content-length"] == str(end - start + 1)
        assert response.headers["content-type"] == "video/mp4"


async def test_range_past_the_end_gets_416(
    workspace_client: tuple[httpx.AsyncClient, Path],
) -> None:
    http, root = workspace_client
    task = await _task_with_artifacts(root)
    for header in ("bytes=10240-", "bytes=99999-100000", "bytes=-0"):
        response = await http.get(f"{base(task)}/videos/scene-01.mp4", headers={"Range": header})
        assert_error(response, 416, "RANGE_NOT_SATISFIABLE")
        assert response.headers["content-range"] == f"bytes */{len(CLIP)}"


async def test_unusable_range_headers_get_the_whole_file(
    workspace_client: tuple[httpx.AsyncClient, Path],
) -> None:
    """Several ranges, other units, an inverted range, garbage: the RFC says serve it all."""
    http, root = workspace_client
    task = await _task_with_artifacts(root)
    for header in ("bytes=0-1,5-6", "items=0-5", "bytes=9-3", "garbage"):
        response = await http.get(f"{base(task)}/videos/scene-01.mp4", headers={"Range": header})
        assert response.status_code == 200, header
        assert response.content == CLIP


async def test_if_range_with_a_stale_etag_gets_the_new_file(
    workspace_client: tuple[httpx.AsyncClient, Path],
) -> None:
    http, root = workspace_client
    task = await _task_with_artifacts(root)
    url = f"{base(task)}/videos/scene-01.mp4"
    etag = (await http.head(url)).headers["etag"]
    matching = await http.get(url, headers={"Range": "bytes=0-9", "If-Range": etag})
    assert matching.status_code == 206 and matching.content == CLIP[:10]
    redone = CLIP[::-1] + b"more"
    path = _write(root, clip_key(task, 1), redone)
    os.utime(path, ns=(1, 1))  # a different version even on a coarse-clock file system
    stale = await http.get(url, headers={"Range": "bytes=0-9", "If-Range": etag})
    assert stale.status_code == 200 and stale.content == redone
    assert stale.headers["etag"] != etag


async def test_head_gives_headers_only(workspace_client: tuple[httpx.AsyncClient, Path]) -> None:
    http, root = workspace_client
    task = await _task_with_artifacts(root)
    response = await http.head(f"{base(task)}/videos/scene-01.mp4", headers={"Range": "bytes=5-"})
    assert response.status_code == 206
    assert response.content == b""
    assert response.headers["content-length"] == str(len(CLIP) - 5)
    assert response.headers["content-range"] == f"bytes 5-{len(CLIP) - 1}/{len(CLIP)}"


async def test_paths_outside_the_tasks_keys_are_refused(
    workspace_client: tuple[httpx.AsyncClient, Path],
) -> None:
    http, root = workspace_client
    task = await _task_with_artifacts(root)
    _write(root.parent, "secret.txt", b"top secret")
    _write(root, "secret.txt", b"workspace secret")
    _write(root, clip_key(task, 2), b"not yet recorded")
    for path in (
        "../../../../../../etc/passwd",
        "videos/../../../../secret.txt",
        "../../../../secret.txt",
        "videos/scene-02.mp4",  # the item has no output yet: the file exists but isn't its key
        "secret.txt",
        "/secret.txt",
    ):
        response = await get_raw(http, f"{base(task)}/{path}")
        assert_error(response, 404, "ARTIFACT_NOT_FOUND")
        assert b"secret" not in response.content.replace(b"secret.txt", b""), path


async def test_another_tasks_artifact_is_refused(
    workspace_client: tuple[httpx.AsyncClient, Path],
) -> None:
    http, root = workspace_client
    mine = await _task_with_artifacts(root, "mine")
    theirs = await _task_with_artifacts(root, "theirs")
    for path in (clip_key(theirs, 1), f"../../{theirs.id}/videos/scene-01.mp4"):
        response = await get_raw(http, f"{base(mine)}/{path}")
        assert_error(response, 404, "ARTIFACT_NOT_FOUND")
    # and the same path under the right task works
    assert (await http.get(f"{base(theirs)}/videos/scene-01.mp4")).content == CLIP


async def test_a_stored_key_that_escapes_the_workspace_is_not_served(
    workspace_client: tuple[httpx.AsyncClient, Path],
) -> None:
    """Keys come from the database, but a bad row must not turn into a file read."""
    http, root = workspace_client
    task = await _task_with_artifacts(root)
    outside = _write(root.parent, "outside.mp4", b"outside the workspace")
    link = root / "channels" / "link.mp4"
    link.symlink_to(outside)
    await add_rows(
        TaskItem(
            task_id=task.id,
            step=PipelineStep.SOUND_EFFECTS,
            item_key="scene-01",
            scene_number=1,
            status=ItemStatus.COMPLETED,
            output_keys={"dotdot": "../outside.mp4", "symlink": "channels/link.mp4"},
        )
    )
    listed = (await http.get(base(task))).json()["data"]
    bad = [a for a in listed if a["step"] == "sound_effects"]
    assert [(a["key"], a["available"]) for a in bad] == [
        ("../outside.mp4", False),
        ("channels/link.mp4", False),
    ]
    for artifact in bad:
        response = await get_raw(http, f"{base(task)}/{artifact['key']}")
        assert_error(response, 404, "ARTIFACT_MISSING")
        assert b"outside the workspace" not in response.content


async def test_missing_file_and_unknown_task(
    workspace_client: tuple[httpx.AsyncClient, Path],
) -> None:
    http, root = workspace_client
    task = await _task_with_artifacts(root)
    assert_error(await http.get(f"{base(task)}/audio/scene-01.wav"), 404, "ARTIFACT_MISSING")
    other = "00000000-0000-4000-8000-000000000000"
    assert_error(await http.get(f"/api/v1/tasks/{other}/artifacts"), 404, "TASK_NOT_FOUND")
    assert_error(
        await http.get(f"/api/v1/tasks/{other}/artifacts/videos/scene-01.mp4"),
        404,
        "TASK_NOT_FOUND",
    )
