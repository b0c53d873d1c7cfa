"""Start-up checks (``vidgen check``, web and worker start-up): what is missing and how to fix it.

Every check runs, whatever the others found, so one run lists every problem at once instead of
making the operator fix them one restart at a time. A check never raises and never puts a secret
in its output: it reports a status, a detail that names settings (not their values) and a fix.

Statuses: ``ok``; ``warn`` (works, but something is degraded or left to defaults); ``fatal``
(this process would fail or misbehave: the web and the workers refuse to start). The same check
can weigh differently per process: missing FFmpeg is fatal for a worker, a warning for the web.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, replace

from pydantic import ValidationError

from app.core.config import Settings
from app.ops.checks import CheckContext, CheckResult, Profile, Status, fatal, ok, warn

CheckFn = Callable[[CheckContext], Awaitable[list[CheckResult]]]


class PreflightError(RuntimeError):
    """A process refused to start: the message is the table of problems."""

    def __init__(self, results: Sequence[CheckResult]) -> None:
        self.results = list(results)
        fatal = [r for r in results if r.status is Status.FATAL]
        super().__init__(
            f"{len(fatal)} fatal start-up problem(s); run `vidgen check` for the full list:\n"
            + format_table(fatal)
        )


def settings_problems(exc: ValidationError) -> list[CheckResult]:
    """One row per invalid variable; pydantic lists them all. Input values are never shown."""
    rows = []
    for error in exc.errors(include_url=False):
        loc = [str(part) for part in error["loc"]]
        message = error["msg"].removeprefix("Value error, ")
        if not loc:  # a rule across variables: its message names them
            rows.append(fatal("settings", message, "set the variables it names"))
            continue
        variable = loc[0].upper()
        fix = f"correct {variable} in the environment (or .env)"
        rows.append(fatal(f"settings: {variable}", message, fix))
    return rows


class _LenientSettings(Settings):
    """Settings without the cross-field refusals, which the checks below report themselves
    (API token, Fernet keys, an incomplete S3 store), so one bad value hides nothing else."""

    # A plain method of the same name replaces the parent's validator (pydantic by name).
    def _no_placeholders_in_production(self) -> Settings:  # type: ignore[override]
        return self

    def _s3_complete(self) -> Settings:  # type: ignore[override]
        return self


def load_settings_for_check() -> tuple[Settings, list[CheckResult]]:
    """The settings plus one row per invalid variable; invalid ones fall back to defaults."""
    try:
        settings: Settings = _LenientSettings()
    except ValidationError as exc:
        rows = settings_problems(exc)
        broken = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
        defaults = {
            name: info.get_default(call_default_factory=True)
            for name, info in Settings.model_fields.items()
            if name in broken
        }
        try:
            settings = _LenientSettings(**defaults)
        except ValidationError:  # a problem across fields: check with every default
            settings = _LenientSettings.model_construct()
        return settings, rows
    return settings, [ok("settings", f"environment={settings.environment}")]


async def _guarded(check: CheckFn, context: CheckContext) -> list[CheckResult]:
    """A check that crashes is itself a finding, never the end of the run."""
    try:
        return await check(context)
    except Exception as exc:  # reported, not raised: the other checks must still run
        name = getattr(check, "__name__", "check").removeprefix("check_").replace("_", " ")
        return [fatal(name, f"the check itself failed: {type(exc).__name__}: {exc}")]


def checks_for(profile: Profile) -> list[CheckFn]:
    """``check`` runs everything; the web leaves channel YAML to its own start-up (which lists
    every file's problems), and a worker, which reads channels from the database, skips the
    YAML and the API token it never serves."""
    from app.ops import preflight_channels as channels
    from app.ops import preflight_notion as notion
    from app.ops import preflight_system as system
    from app.ops import preflight_youtube as youtube

    checks: list[CheckFn] = []
    if profile != "worker":
        checks.append(system.check_api_token)
    checks += [system.check_encryption_keys, channels.check_database, channels.check_migrations]
    if profile == "check":
        checks.append(channels.check_channel_configs)
    checks += [
        channels.check_provider_keys,
        youtube.check_youtube_quota,
        notion.check_notion_boards,
        system.check_workspace,
        system.check_artifact_store,
        system.check_disk_space,
        system.check_ffmpeg,
        system.check_pyav,
        system.check_espeak,
        system.check_hibari,
    ]
    return checks


# A worker's supervisor waits for the database (and a deploy migrates it meanwhile): at a
# worker's start these are reported, not refused, so workers started first do not crash-loop.
_WORKER_WAITS_FOR = frozenset({"database", "migrations"})


def _weigh(result: CheckResult, profile: Profile) -> CheckResult:
    if profile == "worker" and result.status is Status.FATAL and result.name in _WORKER_WAITS_FOR:
        return replace(result, status=Status.WARN, detail=result.detail + " (the worker retries)")
    return result


async def run_checks(
    settings: Settings, profile: Profile, *, extra: Sequence[CheckResult] = ()
) -> list[CheckResult]:
    """Every check of ``profile``, in order (checks that share facts run one after another)."""
    context = CheckContext(settings=settings, profile=profile)
    results = list(extra)
    for check in checks_for(profile):
        results += [_weigh(r, profile) for r in await _guarded(check, context)]
    return results


def has_fatal(results: Sequence[CheckResult]) -> bool:
    return any(r.status is Status.FATAL for r in results)


async def gate_startup(settings: Settings, profile: Profile) -> list[CheckResult]:
    """Run the process's checks, log warnings, and refuse (``PreflightError``) on fatal ones.

    Each problem is its own log event (readable in JSON logs) and the table goes with the
    refusal, so the deploy log shows everything to fix without a second run.
    """
    from app.core.logging import get_logger

    log = get_logger(__name__)
    results = await run_checks(settings, profile)
    for result in results:
        if result.status is Status.WARN:
            log.warning(
                "preflight.warning", check=result.name, detail=result.detail, fix=result.fix
            )
        elif result.status is Status.FATAL:
            log.error("preflight.fatal", check=result.name, detail=result.detail, fix=result.fix)
    if has_fatal(results):
        error = PreflightError(results)
        log.error("preflight.refused", process=profile, table=format_table(results))
        raise error
    return results


_LABEL = {Status.OK: "ok", Status.WARN: "WARN", Status.FATAL: "FATAL"}


def format_table(results: Sequence[CheckResult]) -> str:
    """CHECK | STATUS | DETAIL / FIX, aligned; multi-line details and the fix go underneath."""
    headers = ("CHECK", "STATUS", "DETAIL / FIX")
    width = max([len(headers[0]), *(len(r.name) for r in results)])
    status_width = 6
    indent = " " * (width + status_width + 4)
    lines = [f"{headers[0]:<{width}}  {headers[1]:<{status_width}}  {headers[2]}"]
    for result in results:
        detail_lines = result.detail.splitlines() or [""]
        label = _LABEL[result.status]
        lines.append(f"{result.name:<{width}}  {label:<{status_width}}  {detail_lines[0]}")
        lines += [indent + extra for extra in detail_lines[1:]]
        if result.fix and result.status is not Status.OK:
            lines.append(f"{indent}fix: {result.fix}")
    return "\n".join(lines)


def summary(results: Sequence[CheckResult]) -> str:
    fatal_count = sum(r.status is Status.FATAL for r in results)
    warn_count = sum(r.status is Status.WARN for r in results)
    if fatal_count:
        return (
            f"❌ {fatal_count} fatal, {warn_count} warning(s): the web and workers refuse to start "
            "until the fatal ones are fixed"
        )
    if warn_count:
        return f"✅ no fatal problems ({warn_count} warning(s))"
    return "✅ everything checked is in order"


def to_json(results: Sequence[CheckResult]) -> str:
    rows = [{**asdict(r), "status": r.status.value} for r in results]
    return json.dumps({"ok": not has_fatal(results), "checks": rows}, indent=2)


__all__ = [
    "CheckContext",
    "CheckResult",
    "PreflightError",
    "Profile",
    "Status",
    "fatal",
    "format_table",
    "gate_startup",
    "has_fatal",
    "load_settings_for_check",
    "ok",
    "run_checks",
    "summary",
    "to_json",
    "warn",
]
