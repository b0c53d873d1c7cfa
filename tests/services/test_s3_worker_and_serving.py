"""With ARTIFACT_STORE=s3: an item fetches only its inputs into an empty cache and uploads its
outputs; the web service streams an artifact from the bucket with Range support."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from PIL import Image, ImageDraw
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from app.artifacts.s3_store import S3ArtifactStore
from app.core.config import Settings, get_settings
from app.core.database import session_scope
from app.main import create_app
from app.models import PipelineStep, Task, TaskStatus
from app.pipeline.items import final_key, script_inputs
from app.pipeline.outcome import ItemFailedError
from app.pipeline.runner import execute_item
from tests.routes.conftest import API_TOKEN, make_client
from tests.routes.factories import add_channel, add_task
from tests.services.s3_support import (
    ACCESS_KEY_ID,
    SECRET_ACCESS_KEY,
    make_store,
    moto_server,
    new_bucket_name,
)

PREFIX = "channels/c1/projects/t1"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest_asyncio.fixture
async def s3_env(
    endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Settings, S3ArtifactStore]]:
    """This process configured for the bucket, with an empty workspace and cache of its own."""
    bucket = new_bucket_name()
    uploader = make_store(endpoint, bucket, tmp_path / "uploader-cache")
    env = {
        "ARTIFACT_STORE": "s3",
        "S3_ENDPOINT_URL": endpoint,
        "S3_BUCKET": bucket,
        "S3_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "S3_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "S3_REGION": "us-east-1",
        "WORKSPACE_ROOT": str(tmp_path / "worker-workspace"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield get_settings(), uploader
    get_settings.cache_clear()


def _png(
    store: S3ArtifactStore, key: str, color: tuple[int, int, int], size: tuple[int, int]
) -> None:
    """A solid picture, or for a small one a disc on transparency (a character cut-out)."""
    path = store.local_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    if size[0] <= 64:
        image = Image.new("RGBA", size, (0, 0, 0, 0))
        ImageDraw.Draw(image).ellipse((8, 8, size[0] - 8, size[1] - 8), fill=(*color, 255))
    else:
        image = Image.new("RGBA", size, (*color, 255))
    image.save(path)
    store.put(key)


async def _composite(inputs_present: bool, settings: Settings, uploader: S3ArtifactStore) -> None:
    character, environment = f"{PREFIX}/assets/hero.png", f"{PREFIX}/assets/forest.png"
    if inputs_present:
        _png(uploader, character, (220, 40, 40), (64, 64))
        _png(uploader, environment, (20, 120, 40), (320, 180))
    await execute_item(
        task_id=uuid.uuid4(),
        channel_id=uuid.uuid4(),
        step=PipelineStep.COMPOSITES,
        item_key="scene-01",
        inputs=script_inputs(
            "composite",
            "create_composite.py",
            args=["--size", "320x180"],
            in_files=[("--character", character), ("--environment", environment)],
            out_files=[("--output", f"{PREFIX}/composites/scene-01.png")],
            timeout_s=120,
        ),
        remote_ids={},
        on_remote_ids=_no_remote_ids,
    )


async def _no_remote_ids(ids: dict[str, str]) -> None:
    raise AssertionError(f"a local script reported remote ids {ids}")


async def test_item_fetches_only_its_inputs_and_uploads_its_output(
    s3_env: tuple[Settings, S3ArtifactStore], tmp_path: Path
) -> None:
    settings, uploader = s3_env
    _png(uploader, f"{PREFIX}/assets/unrelated.png", (1, 2, 3), (100, 100))
    await _composite(True, settings, uploader)

    cache = settings.cache_dir
    cached = sorted(p.relative_to(cache).as_posix() for p in cache.rglob("*") if p.is_file())
    assert cached == [
        f"{PREFIX}/assets/forest.png",
        f"{PREFIX}/assets/hero.png",
        f"{PREFIX}/composites/scene-01.png",
    ], "only the item's own inputs were downloaded"
    # the output is in the bucket, whole: another worker gets the same picture
    reader = make_store(uploader.endpoint, uploader.bucket, tmp_path / "reader", create=False)
    fetched = reader.fetch(f"{PREFIX}/composites/scene-01.png")
    with Image.open(fetched) as image:
        assert image.size == (320, 180)
        assert image.convert("RGB").getpixel((5, 5)) == (20, 120, 40)
    assert not (settings.workspace_root / PREFIX).exists(), "nothing written to the workspace"


async def test_item_with_an_input_missing_from_the_bucket_fails_clearly(
    s3_env: tuple[Settings, S3ArtifactStore],
) -> None:
    settings, uploader = s3_env
    with pytest.raises(ItemFailedError) as caught:
        await _composite(False, settings, uploader)
    assert caught.value.code == "INPUT_MISSING" and not caught.value.retryable
    assert "assets/hero.png" in caught.value.message


async def test_web_streams_an_artifact_from_the_bucket_with_ranges(
    s3_env: tuple[Settings, S3ArtifactStore], app_db: AsyncEngine
) -> None:
    settings, uploader = s3_env
    channel = await add_channel("s3web")
    task = await add_task(channel, status=TaskStatus.PUBLISHED)
    async with session_scope() as session:
        stored = await session.get(Task, task.id)
        assert stored is not None
        stored.final_video_key = final_key(task)
    data = bytes(range(256)) * 2000
    path = uploader.local_path(final_key(task))
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    uploader.put(final_key(task))

    app_settings = settings.model_copy(update={"api_token": SecretStr(API_TOKEN)})
    url = f"/api/v1/tasks/{task.id}/artifacts/final/video.mp4"
    async with make_client(create_app(app_settings)) as http:
        whole = await http.get(url)
        assert whole.status_code == 200 and whole.content == data
        assert whole.headers["content-type"] == "video/mp4"
        part = await http.get(url, headers={"Range": "bytes=1000-1999"})
        assert part.status_code == 206 and part.content == data[1000:2000]
        assert part.headers["content-range"] == f"bytes 1000-1999/{len(data)}"
        tail = await http.get(url, headers={"Range": "bytes=-10"})
        assert tail.content == data[-10:]
        listed = (await http.get(f"/api/v1/tasks/{task.id}/artifacts")).json()["data"]
        assert [(a["output"], a["size"]) for a in listed] == [("final_video", len(data))]
        uploader.delete(final_key(task))
        gone = await http.get(url)
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "ARTIFACT_MISSING"
