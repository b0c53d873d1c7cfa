"""Checks of the database, the schema, the channel YAML files and each active channel's keys."""

from __future__ import annotations

import asyncio
import os
from collections import defaultdict
from pathlib import Path
from urllib.parse import unquote, urlsplit

import asyncpg
from alembic.script import ScriptDirectory

from app.channels.config import (
    CONFIG_SUFFIXES,
    ChannelConfig,
    ChannelConfigError,
    load_channel_config,
    load_channel_configs,
)
from app.channels.credentials import ENV_VARS, env_has_key, needed_credentials
from app.core.config import asyncpg_dsn, normalise_database_url
from app.core.database import embedded_data_dir, redact_url, resolve_database_url
from app.core.migrations import alembic_config, current_revision, head_revision
from app.ops.checks import CheckContext, CheckResult, fatal, ok, warn
from app.youtube.projects import YouTubeClientMissingError, channel_client, client_variables

CONNECT_TIMEOUT_S = 5.0

# channel slug -> {provider: needs_reauth}
StoredCredentials = dict[str, dict[str, bool]]


def _scrub(text: str, url: str) -> str:
    """Driver messages may echo parts of a DSN; never let its password through."""
    password = urlsplit(url).password
    for secret in {password, unquote(password or "")} - {None, ""}:
        text = text.replace(str(secret), "***")
    return text


def _configured_url(context: CheckContext) -> str | None:
    if context.settings.database_url:
        return context.settings.database_url
    env = os.environ.get("DATABASE_URL")
    return normalise_database_url(env) if env else None


async def check_database(context: CheckContext) -> list[CheckResult]:
    settings = context.settings
    url = _configured_url(context)
    fix = (
        "start PostgreSQL or correct DATABASE_URL (on Railway: "
        "DATABASE_URL=${{Postgres.DATABASE_URL}} on every service)"
    )
    where = ""
    if url is None:
        if settings.environment == "production":
            return [fatal("database", "DATABASE_URL is not set (required in production)", fix)]
        try:
            url = await asyncio.to_thread(resolve_database_url, settings)
        except Exception as exc:
            detail = f"the embedded PostgreSQL did not start: {type(exc).__name__}: {exc}"
            return [fatal("database", detail, "set DATABASE_URL to a PostgreSQL server")]
        where = f" (embedded server in {embedded_data_dir(settings)})"
    try:
        conn = await asyncio.wait_for(
            asyncpg.connect(asyncpg_dsn(url), timeout=CONNECT_TIMEOUT_S), CONNECT_TIMEOUT_S + 1
        )
        try:
            version = await conn.fetchval("SHOW server_version")
        finally:
            await conn.close()
    except Exception as exc:  # any failure is the finding; the message is scrubbed
        reason = _scrub(f"{type(exc).__name__}: {exc}".rstrip(": "), url)
        return [fatal("database", f"cannot reach {redact_url(url)}: {reason}", fix)]
    context.database_url = url
    return [ok("database", f"PostgreSQL {version} at {redact_url(url)}{where}")]


def _known_revision(revision: str) -> bool:
    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except Exception:
        return False


async def check_migrations(context: CheckContext) -> list[CheckResult]:
    if context.database_url is None:
        return [warn("migrations", "not checked: the database is unreachable")]
    head = head_revision()
    current = await asyncio.wait_for(current_revision(context.database_url), 15)
    if current == head:
        context.schema_at_head = True
        return [ok("migrations", f"database at head ({head})")]
    if current is None:
        return [fatal("migrations", "the database has no tables yet", "run `vidgen migrate`")]
    if not _known_revision(current):
        detail = f"database at {current}, which this code does not know (newer code ran here?)"
        return [fatal("migrations", detail, "deploy the code that matches the database")]
    detail = f"database at {current}, code at {head}"
    return [fatal("migrations", detail, "run `vidgen migrate`")]


def _config_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(
        p
        for p in directory.iterdir()
        if p.suffix in CONFIG_SUFFIXES and not p.name.startswith(".") and p.is_file()
    )


def loadable_configs(directory: Path) -> list[ChannelConfig]:
    """The files that load on their own (so one broken file hides no other channel's keys)."""
    configs = []
    for path in _config_files(directory):
        try:
            configs.append(load_channel_config(path))
        except ChannelConfigError:
            continue
    return configs


async def check_channel_configs(context: CheckContext) -> list[CheckResult]:
    directory = context.settings.channel_configs_dir
    try:
        configs = load_channel_configs(directory)
    except ChannelConfigError as exc:
        by_file: dict[str, list[str]] = defaultdict(list)
        for problem in exc.problems:
            where = f"{problem.field}: " if problem.field else ""
            line = f" (line {problem.line})" if problem.line and problem.field else ""
            by_file[problem.file].append(f"{where}{problem.message}{line}")
        fix = "edit the file (channel_configs/demo.yaml shows every field)"
        return [
            fatal(f"channel config {file}", "\n".join(messages), fix)
            for file, messages in by_file.items()
        ]
    active = [c.slug for c in configs if c.active]
    detail = f"{len(configs)} file(s) valid in {directory}; active: "
    return [ok("channel configs", detail + (", ".join(active) or "none"))]


async def _stored_credentials(url: str) -> StoredCredentials:
    conn = await asyncpg.connect(asyncpg_dsn(url), timeout=CONNECT_TIMEOUT_S)
    try:
        rows = await conn.fetch(
            "SELECT c.slug, cc.provider, cc.needs_reauth FROM channel_credentials cc "
            "JOIN channels c ON c.id = cc.channel_id"
        )
    finally:
        await conn.close()
    stored: StoredCredentials = defaultdict(dict)
    for row in rows:
        stored[row["slug"]][row["provider"]] = bool(row["needs_reauth"])
    return stored


def _youtube(
    context: CheckContext, config: ChannelConfig, stored: dict[str, bool], checked: bool
) -> CheckResult | None:
    slug = config.slug
    try:  # the channel's own OAuth client when it names one, else the fleet's
        client = bool(channel_client(config, context.settings))
    except YouTubeClientMissingError:
        client = False
    variables = "/".join(client_variables(config))
    name = f"youtube: {slug}"
    fix = f"run `vidgen oauth youtube {slug}`"
    if stored.get("youtube"):
        return warn(name, "the YouTube token was revoked or expired; uploads wait", fix)
    if "youtube" in stored and not client:
        detail = f"a YouTube token is stored but {variables} are unset"
        effect = "uploads fail" if config.youtube.oauth_client else "videos stay offline"
        return warn(name, f"{detail}: {effect}", "set both variables")
    if client and checked and "youtube" not in stored:
        return warn(name, "not authorised on YouTube: finished videos stay offline", fix)
    return None


async def check_provider_keys(context: CheckContext) -> list[CheckResult]:
    configs = [c for c in loadable_configs(context.settings.channel_configs_dir) if c.active]
    for config in configs:
        context.voice_channels.setdefault(config.providers.voice.provider, []).append(config.slug)
    if not configs:
        return [ok("provider keys", "no active channel")]
    stored: StoredCredentials = defaultdict(dict)
    checked = False
    if context.database_url is not None and context.schema_at_head:
        try:
            stored = await asyncio.wait_for(_stored_credentials(context.database_url), 15)
            checked = True
        except Exception:  # reported below as "not checked"; the env keys still count
            stored = defaultdict(dict)
    results = []
    for config in configs:
        name = f"keys: {config.slug}"
        needs = needed_credentials(config)
        missing = [
            p
            for p in needs
            if not env_has_key(context.settings, p) and p.value not in stored[config.slug]
        ]
        if missing:
            parts = [f"{ENV_VARS[p]} ({', '.join(needs[p])})" for p in missing]
            detail = "active, but no key for " + "; ".join(parts)
            if not checked:
                detail += "\n(stored per-channel credentials not checked: database unavailable)"
            variables = " and ".join(ENV_VARS[p] for p in missing)
            fix = f"set {variables}, or set `active: false` in {config.slug}.yaml until it has keys"
            # A worker that cannot see the stored keys yet waits for the database instead.
            weigh = warn if (not checked and context.profile == "worker") else fatal
            results.append(weigh(name, detail, fix))
        elif needs:
            names = ", ".join(sorted(ENV_VARS[p] for p in needs))
            results.append(ok(name, f"keys present for {names}"))
        else:
            results.append(ok(name, "offline providers only: no keys needed"))
        youtube = _youtube(context, config, stored[config.slug], checked)
        if youtube is not None:
            results.append(youtube)
    return results
