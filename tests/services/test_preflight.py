"""Start-up checks in process: stored credentials count, the web refuses fatal problems."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.channels.config import load_channel_configs
from app.channels.credentials import set_credential
from app.channels.sync import sync_channels
from app.core.config import Settings
from app.main import create_app
from app.models import Channel
from app.ops.checks import CheckResult, Status
from app.ops.preflight import PreflightError, format_table, run_checks, to_json

VOICE_CHANNEL = """\
slug: {slug}
name: Voices
active: {active}
providers:
  planner: template
  image: local
  video: kenburns
  voice: elevenlabs
  sfx: synth
"""

SECRET = "sk-preflight-secret-value-0123456789"


def write_channel(directory: Path, slug: str = "voices", *, active: bool = True) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    text = VOICE_CHANNEL.format(slug=slug, active=str(active).lower())
    (directory / f"{slug}.yaml").write_text(text)


def settings_for(db_url: str, tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "test",
        "api_token": SecretStr("preflight-token-0123456789"),
        "database_url": db_url,
        "workspace_root": tmp_path / "workspace",
        "channel_configs_dir": tmp_path / "channels",
        "elevenlabs_api_key": None,
        "youtube_client_id": None,
        "youtube_client_secret": None,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.name: r for r in results}


async def test_missing_key_is_fatal_only_for_active_channels(db_url: str, tmp_path: Path) -> None:
    write_channel(tmp_path / "channels", "voices", active=True)
    write_channel(tmp_path / "channels", "resting", active=False)
    results = by_name(await run_checks(settings_for(db_url, tmp_path), "check"))
    assert results["keys: voices"].status is Status.FATAL
    assert "ELEVENLABS_API_KEY (voice)" in results["keys: voices"].detail
    assert "keys: resting" not in results
    assert results["database"].status is Status.OK
    assert results["migrations"].status is Status.OK


async def test_key_from_environment_or_channel_credential(
    db_url: str, db_session: AsyncSession, tmp_path: Path
) -> None:
    write_channel(tmp_path / "channels", "voices")
    with_env = settings_for(db_url, tmp_path, elevenlabs_api_key=SecretStr(SECRET))
    results = by_name(await run_checks(with_env, "check"))
    assert results["keys: voices"].status is Status.OK
    assert SECRET not in to_json(list(results.values()))

    # Without the variable, a key stored (encrypted) for the channel satisfies the check too.
    await sync_channels(db_session, load_channel_configs(tmp_path / "channels"))
    channel = (await db_session.scalars(select(Channel))).one()
    await set_credential(db_session, channel.id, "elevenlabs", SECRET)
    await db_session.commit()
    results = by_name(await run_checks(settings_for(db_url, tmp_path), "check"))
    assert results["keys: voices"].status is Status.OK, results["keys: voices"]
    assert SECRET not in format_table(list(results.values()))


async def test_web_refuses_to_start_on_fatal_problems(
    db_url: str, db_session: AsyncSession, tmp_path: Path
) -> None:
    write_channel(tmp_path / "channels", "voices")
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the workspace should be")
    settings = settings_for(db_url, tmp_path, workspace_root=blocker / "workspace")
    app = create_app(settings)
    with pytest.raises(PreflightError) as caught:
        async with app.router.lifespan_context(app):
            pytest.fail("the web started with fatal problems")
    names = {r.name for r in caught.value.results if r.status is Status.FATAL}
    assert {"keys: voices", "workspace", "artifact store"} <= names
    assert "ELEVENLABS_API_KEY" in str(caught.value)
    # Refused before anything was written: the channel was never synced.
    assert (await db_session.scalars(select(Channel))).all() == []


async def test_web_starts_with_warnings_only(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No API token outside production and no FFmpeg are warnings for the web, not refusals.
    monkeypatch.setenv("FFMPEG_BINARY", str(tmp_path / "no-such-ffmpeg"))
    write_channel(tmp_path / "channels", "voices", active=False)
    settings = settings_for(db_url, tmp_path, api_token=None)
    web = by_name(await run_checks(settings, "web"))
    assert web["ffmpeg"].status is Status.WARN
    assert web["api token"].status is Status.WARN
    assert by_name(await run_checks(settings, "worker"))["ffmpeg"].status is Status.FATAL
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        assert app.state.dispatcher is not None


def test_table_and_json_shapes() -> None:
    results = [
        CheckResult("database", Status.FATAL, "cannot reach it\nsecond line", "start it"),
        CheckResult("ffmpeg", Status.OK, "ffmpeg 9", "unused fix"),
        CheckResult("a much longer check name", Status.WARN, "hm", "do x"),
    ]
    lines = format_table(results).splitlines()
    assert lines[0].split() == ["CHECK", "STATUS", "DETAIL", "/", "FIX"]
    column = lines[0].index("DETAIL")
    assert lines[1].index("cannot reach it") == column
    assert lines[2].index("second line") == column
    assert lines[3].index("fix: start it") == column
    assert "unused fix" not in "\n".join(lines)  # an ok row needs no fix
    data = json.loads(to_json(results))
    assert data["ok"] is False
    assert [c["status"] for c in data["checks"]] == ["fatal", "ok", "warn"]
