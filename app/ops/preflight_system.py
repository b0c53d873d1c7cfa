"""Checks of this machine and its secrets: API token, keys, workspace, store, disk, media tools."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from app.artifacts.configured import get_artifact_store
from app.artifacts.store import ArtifactStoreError
from app.core.config import PLACEHOLDER_SECRETS, Settings
from app.core.encryption import DEV_KEY_FILENAME, EncryptionConfigError, SecretBox
from app.ops.checks import CheckContext, CheckResult, Status, fatal, ok, warn

MIN_TOKEN_LENGTH = 16
DISK_WARN_BYTES = 2 * 1024**3
DISK_FATAL_BYTES = 200 * 1024**2
TOOL_TIMEOUT_S = 15.0


def _weigh(result: CheckResult, context: CheckContext) -> CheckResult:
    """The web renders no media: a missing media tool is a warning there, fatal elsewhere."""
    if context.profile == "web" and result.status is Status.FATAL:
        return CheckResult(
            result.name, Status.WARN, result.detail + " (workers need it)", result.fix
        )
    return result


async def check_api_token(context: CheckContext) -> list[CheckResult]:
    settings = context.settings
    token = settings.api_token.get_secret_value() if settings.api_token else ""
    production = settings.environment == "production"
    fix = "set API_TOKEN to a long random secret, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
    if not token:
        detail = "API_TOKEN is not set: every /api/v1 request gets 401"
        return [fatal("api token", detail, fix) if production else warn("api token", detail, fix)]
    if token.lower() in PLACEHOLDER_SECRETS or len(token) < MIN_TOKEN_LENGTH:
        detail = f"API_TOKEN is a placeholder or shorter than {MIN_TOKEN_LENGTH} characters"
        return [fatal("api token", detail, fix) if production else warn("api token", detail, fix)]
    return [ok("api token", "API_TOKEN is set")]


async def check_encryption_keys(context: CheckContext) -> list[CheckResult]:
    settings = context.settings
    fix = (
        "make a key with `vidgen keys generate` and set FERNET_KEYS (newest first, comma-separated)"
    )
    if settings.fernet_keys:
        keys = [key.get_secret_value() for key in settings.fernet_keys]
        try:
            SecretBox(keys)
        except EncryptionConfigError as exc:  # names the entry's position, never its value
            return [fatal("encryption keys", str(exc), fix)]
        return [ok("encryption keys", f"FERNET_KEYS holds {len(keys)} valid key(s)")]
    if settings.environment == "production":
        return [fatal("encryption keys", "FERNET_KEYS is not set (required in production)", fix)]
    path = settings.workspace_root / DEV_KEY_FILENAME
    if not path.exists():
        return [ok("encryption keys", f"development key {path} will be created on first use")]
    try:
        SecretBox([path.read_text().strip()], source=str(path))
    except (OSError, EncryptionConfigError) as exc:
        return [fatal("encryption keys", f"{path}: {exc}", f"delete {path} or {fix}")]
    return [ok("encryption keys", f"development key file {path}")]


def _probe(directory: Path) -> str | None:
    """Write, read back and delete a small file; None when all three work, else what failed."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot create {directory}: {exc.strerror or exc}"
    probe = directory / f".vidgen-check-{os.getpid()}-{secrets.token_hex(4)}"
    payload = secrets.token_bytes(32)
    try:
        probe.write_bytes(payload)
        if probe.read_bytes() != payload:
            return f"{directory}: a file read back differs from what was written"
    except OSError as exc:
        return f"cannot write in {directory}: {exc.strerror or exc}"
    finally:
        try:
            probe.unlink(missing_ok=True)
        except OSError:
            pass
    return None


async def check_workspace(context: CheckContext) -> list[CheckResult]:
    root = context.settings.workspace_root
    problem = await asyncio.to_thread(_probe, root)
    if problem:
        fix = "point WORKSPACE_ROOT at a writable folder (or give this user write access to it)"
        return [fatal("workspace", problem, fix)]
    return [ok("workspace", f"{root} is writable")]


def _s3_missing(settings: Settings) -> list[str]:
    values = {
        "S3_BUCKET": settings.s3_bucket,
        "S3_ACCESS_KEY_ID": settings.s3_access_key_id,
        "S3_SECRET_ACCESS_KEY": settings.s3_secret_access_key,
    }
    return [name for name, value in values.items() if not value]


def _check_store(context: CheckContext) -> CheckResult:
    """Write, read back and delete a probe object through the configured store."""
    settings = context.settings
    if settings.artifact_store == "s3" and _s3_missing(settings):
        missing = ", ".join(_s3_missing(settings))
        return fatal("artifact store", f"ARTIFACT_STORE=s3 but {missing} not set", f"set {missing}")
    try:
        store = get_artifact_store(settings)
        store.check_read_write()
    except ArtifactStoreError as exc:  # its message says which setting to fix, never a secret
        return fatal("artifact store", str(exc), "correct the setting the detail names")
    except Exception as exc:
        return fatal(
            "artifact store",
            f"{type(exc).__name__}: {exc}",
            "check the ARTIFACT_STORE and S3_* settings",
        )
    return ok("artifact store", f"{store.description}: write, read and delete work")


async def check_artifact_store(context: CheckContext) -> list[CheckResult]:
    return [await asyncio.to_thread(_check_store, context)]


async def check_disk_space(context: CheckContext) -> list[CheckResult]:
    path = context.settings.workspace_root
    while not path.exists() and path != path.parent:
        path = path.parent
    free = shutil.disk_usage(path).free
    detail = f"{free / 1024**3:.1f} GiB free under {path}"
    fix = "free some space or move WORKSPACE_ROOT to a larger disk (a video needs ~0.5 GiB)"
    if free < DISK_FATAL_BYTES:
        return [fatal("disk space", detail, fix)]
    if free < DISK_WARN_BYTES:
        return [warn("disk space", detail, fix)]
    return [ok("disk space", detail)]


def ffmpeg_location() -> tuple[str | None, str]:
    """The FFmpeg the scripts will run (same order: FFMPEG_BINARY, PATH, imageio-ffmpeg)."""
    env = os.environ.get("FFMPEG_BINARY")
    if env:
        return env, "FFMPEG_BINARY"
    found = shutil.which("ffmpeg")
    if found:
        return found, "PATH"
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe()), "imageio-ffmpeg"
    except (ImportError, RuntimeError):
        return None, ""


def _run_ffmpeg() -> CheckResult:
    exe, source = ffmpeg_location()
    fix = "run `uv sync` (the imageio-ffmpeg wheel carries FFmpeg) or set FFMPEG_BINARY"
    if exe is None:
        return fatal("ffmpeg", "no FFmpeg found (FFMPEG_BINARY, PATH, imageio-ffmpeg)", fix)
    try:
        version = subprocess.run(
            [exe, "-hide_banner", "-version"], capture_output=True, timeout=TOOL_TIMEOUT_S
        )
        encoders = subprocess.run(
            [exe, "-hide_banner", "-encoders"], capture_output=True, timeout=TOOL_TIMEOUT_S
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return fatal("ffmpeg", f"{exe} (from {source}) does not run: {type(exc).__name__}", fix)
    if version.returncode != 0:
        return fatal("ffmpeg", f"{exe} (from {source}) exits {version.returncode}", fix)
    first = version.stdout.decode(errors="replace").splitlines()[0:1] or ["ffmpeg"]
    missing = [name for name in ("libx264", "aac") if name.encode() not in encoders.stdout]
    if missing:
        detail = f"{first[0]} from {source} lacks encoder(s) {', '.join(missing)}"
        return fatal(
            "ffmpeg", detail, "use an FFmpeg built with libx264 and aac, or unset FFMPEG_BINARY"
        )
    return ok("ffmpeg", f"{' '.join(first[0].split()[:3])} from {source}")


async def check_ffmpeg(context: CheckContext) -> list[CheckResult]:
    return [_weigh(await asyncio.to_thread(_run_ffmpeg), context)]


async def check_pyav(context: CheckContext) -> list[CheckResult]:
    try:
        import av
    except ImportError as exc:
        result = fatal("pyav", f"PyAV (media probing) does not import: {exc}", "run `uv sync`")
        return [_weigh(result, context)]
    return [ok("pyav", f"PyAV {av.__version__}")]


def _espeak_problem() -> str | None:
    try:
        import espeakng_loader
    except ImportError:
        return "the espeakng-loader package is not installed"
    library = Path(espeakng_loader.get_library_path())
    data = Path(espeakng_loader.get_data_path())
    if not library.is_file():
        return f"libespeak-ng not found at {library}"
    if not data.is_dir():
        return f"espeak-ng data not found at {data}"
    return None


def _hibari_problem() -> str | None:
    try:
        from hibari.voices import voice_path
    except ImportError:
        return "the hibari-tts package is not installed"
    try:
        model = Path(voice_path("heart", download_missing=False))
    except (FileNotFoundError, ValueError) as exc:
        return f"hibari's bundled voice is missing: {exc}"
    return None if model.is_file() else f"hibari's bundled voice is missing at {model}"


def _offline_voice(
    context: CheckContext, name: str, voice: str, problem: Callable[[], str | None], present: str
) -> list[CheckResult]:
    """A voice only matters to the channels that speak with it; for them a missing part is fatal."""
    users = context.voice_channels.get(voice, [])
    if not users:
        return [ok(name, f"no active channel uses the {voice} voice")]
    found = problem()
    who = ", ".join(users)
    if found:
        return [_weigh(fatal(name, f"{found} (used by {who})", "run `uv sync`"), context)]
    return [ok(name, f"{present} (used by {who})")]


async def check_espeak(context: CheckContext) -> list[CheckResult]:
    return _offline_voice(
        context, "espeak-ng", "espeak", _espeak_problem, "espeak-ng library and data present"
    )


async def check_hibari(context: CheckContext) -> list[CheckResult]:
    return _offline_voice(
        context, "hibari", "hibari", _hibari_problem, "hibari's bundled voice present, offline"
    )
