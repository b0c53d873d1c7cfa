"""Shared set-up for the upload-step tests: a channel, a task at its upload step, a real MP4."""

from __future__ import annotations

import hashlib
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import pytest
import pytest_asyncio
from cryptography.fernet import Fernet
from pgqueuer import RetryRequested
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.artifacts.configured import key_path
from app.channels.config import load_channel_configs
from app.channels.credentials import set_credential
from app.channels.sync import sync_channels
from app.core.config import get_settings
from app.core.database import session_scope
from app.models import Channel, PipelineStep, Task, TaskItem, TaskStatus
from app.pipeline.items import final_key
from app.pipeline.jobs import run_item_job
from app.pipeline.orchestrator import start_step
from tests.fakes.youtube import REFRESH_TOKEN, YouTubeFake, running, settings_env

CHUNK = 256 * 1024

CHANNEL_YAML = """\
slug: {slug}
name: Tube Tests
providers:
  planner: template
  image: local
  video: kenburns
  voice: espeak
  sfx: synth
youtube:
{youtube}
"""
DEFAULT_YOUTUBE = """\
  privacy: private
  tags: [tests]
  title_template: "{{ title }} | {{ channel_name }}"
  description_template: "About {{ topic }}."
"""


def make_mp4(path: Path, *, seconds: float = 1.0, noisy: bool = False) -> str:
    """A real H.264 MP4 (noise makes it large: ~3 MB a second at 320x240); its SHA-256."""
    source = "testsrc2=s=320x240:r=25" + (",noise=alls=60:allf=t+u" if noisy else "")
    quality = ["-qp", "0"] if noisy else ["-crf", "30"]
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", source, "-t", str(seconds), "-c:v", "libx264",
            "-preset", "ultrafast", *quality, "-pix_fmt", "yuv420p", "-movflags", "+faststart",
            str(path),
        ],
        check=True,
    )  # fmt: skip
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class UploadTask:
    channel_id: uuid.UUID
    task_id: uuid.UUID
    item_id: uuid.UUID
    video: Path
    sha256: str


async def upload_task(
    configs_dir: Path,
    *,
    slug: str = "tube",
    title: str = "Whales sing",
    topic: str | None = "whale song",
    youtube: str = DEFAULT_YOUTUBE,
    authorised: bool = True,
    seconds: float = 1.0,
    noisy: bool = False,
) -> UploadTask:
    """A channel (synced from YAML), its YouTube token, and a task whose upload item is queued."""
    configs_dir.mkdir(parents=True, exist_ok=True)
    (configs_dir / f"{slug}.yaml").write_text(CHANNEL_YAML.format(slug=slug, youtube=youtube))
    async with session_scope() as session:
        await sync_channels(session, load_channel_configs(configs_dir))
    async with session_scope() as session:
        channel = (await session.scalars(select(Channel).where(Channel.slug == slug))).one()
        if authorised:
            await set_credential(session, channel.id, "youtube", REFRESH_TOKEN)
        task = Task(
            channel_id=channel.id,
            title=title,
            topic=topic,
            status=TaskStatus.RUNNING,
            step=PipelineStep.UPLOAD,
        )
        session.add(task)
        await session.flush()
        task.final_video_key = final_key(task)
        video = key_path(task.final_video_key)
        digest = make_mp4(video, seconds=seconds, noisy=noisy)
        await start_step(session, task, PipelineStep.UPLOAD, actor="test")
    async with session_scope() as session:
        item = (
            await session.scalars(
                select(TaskItem).where(TaskItem.task_id == task.id, TaskItem.item_key == "upload")
            )
        ).one()
    return UploadTask(channel.id, task.id, item.id, video, digest)


async def reload(task_id: uuid.UUID) -> tuple[Task, TaskItem]:
    async with session_scope() as session:
        task = await session.get(Task, task_id)
        item = (await session.scalars(select(TaskItem).where(TaskItem.task_id == task_id))).one()
    assert task is not None
    return task, item


@pytest.fixture
def fake_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[YouTubeFake, dict[str, str]]]:
    """The fake YouTube, and settings pointing at it (also exported for subprocesses)."""
    with running() as (url, fake):
        env = {
            **settings_env(url),
            "WORKSPACE_ROOT": str(tmp_path / "ws"),
            "FERNET_KEYS": Fernet.generate_key().decode(),
            "YOUTUBE_RETRY_BASE_S": "0.01",
            "YOUTUBE_UPLOAD_CHUNK_BYTES": str(CHUNK),
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        yield fake, env
        get_settings.cache_clear()


@pytest_asyncio.fixture
async def tube(
    app_db: AsyncEngine, fake_env: tuple[YouTubeFake, dict[str, str]]
) -> AsyncIterator[YouTubeFake]:
    get_settings.cache_clear()
    yield fake_env[0]


async def run_until_settled(item_id: object, worker: str = "test:1") -> RetryRequested | None:
    """Run the item job once; the retry it asks for, if any."""
    try:
        await run_item_job(item_id, worker=worker)  # type: ignore[arg-type]
    except RetryRequested as retry:
        return retry
    return None


async def units_charged() -> int:
    """Every unit the ledger holds, all projects, channels and days together."""
    async with session_scope() as session:
        total = await session.scalar(text("SELECT sum(units_used) FROM youtube_quota_usage"))
    return int(total or 0)
