"""The ``vidgen`` command: web, worker, fleet, demo and maintenance subcommands."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.cli.artifacts import artifacts_cli
from app.cli.common import database, exit_on, setup_process
from app.cli.notion import notion_cli
from app.cli.oauth import oauth_cli
from app.core.config import get_settings
from app.core.logging import configure_logging

if TYPE_CHECKING:
    from app.channels.config import ChannelConfig
    from app.channels.sync import SyncReport

cli = typer.Typer(
    help="ai-video-generator: Notion board in, narrated videos out.", no_args_is_help=True
)
channels_cli = typer.Typer(
    help="Channel configurations (channel_configs/*.yaml).", no_args_is_help=True
)
keys_cli = typer.Typer(help="Encryption keys for stored credentials.", no_args_is_help=True)
cli.add_typer(channels_cli, name="channels")
cli.add_typer(keys_cli, name="keys")
cli.add_typer(notion_cli, name="notion")
cli.add_typer(artifacts_cli, name="artifacts")
cli.add_typer(oauth_cli, name="oauth")


@cli.command()
def web(
    host: Annotated[
        str | None, typer.Option(help="Bind address (default HOST or 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default PORT or 8000).")] = None,
) -> None:
    """Serve the API (and, later, the dashboard, Notion poller and dispatcher)."""
    import uvicorn

    setup_process("web")
    settings = get_settings()
    from app.core.database import resolve_database_url

    resolve_database_url(settings)  # start the embedded server before uvicorn forks nothing
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,
        access_log=False,
    )


@cli.command()
def migrate() -> None:
    """Apply database migrations up to head (safe to run from several processes at once)."""
    setup_process("migrate")
    from app.core.migrations import head_revision, upgrade_to_head

    asyncio.run(upgrade_to_head())
    typer.echo(f"✅ database at head ({head_revision()})")


@cli.command()
def check(
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """Check settings, database, migrations, channels, keys, storage and FFmpeg; list every problem.

    Exits 1 when anything is fatal (the web and workers would refuse to start), 0 otherwise.
    """
    configure_logging("WARNING", "console", process="check")
    from app.ops.preflight import (
        format_table,
        has_fatal,
        load_settings_for_check,
        run_checks,
        summary,
        to_json,
    )

    settings, rows = load_settings_for_check()
    results = asyncio.run(run_checks(settings, "check", extra=rows))
    if as_json:
        typer.echo(to_json(results))
    else:
        typer.echo(format_table(results))
        typer.echo(summary(results))
    raise typer.Exit(1 if has_fatal(results) else 0)


@channels_cli.command("cost-estimate")
def channels_cost_estimate(
    slug: Annotated[str, typer.Argument(help="The channel (its YAML file name).")],
    scenes: Annotated[int, typer.Option(min=6, max=16, help="Scenes in the video.")] = 16,
    directory: Annotated[Path | None, typer.Option(help="Folder of channel YAML files.")] = None,
) -> None:
    """Estimated USD of one video on a channel, per step, at the prices in its YAML."""
    configure_logging("WARNING", "console", process="cost-estimate")
    from app.channels.config import ChannelConfigError, load_channel_configs
    from app.spend.estimate_video import estimate_video

    try:
        configs = load_channel_configs(directory or get_settings().channel_configs_dir)
    except ChannelConfigError as exc:
        typer.echo(f"❌ {exc}", err=True)
        raise typer.Exit(1) from None
    config = next((c for c in configs if c.slug == slug), None)
    if config is None:
        typer.echo(f"❌ no channel {slug!r}", err=True)
        raise typer.Exit(1)
    estimate = estimate_video(config, scenes=scenes)
    for step, usd in estimate.by_step.items():
        typer.echo(f"{step:<14} ${usd:.4f}")
    typer.echo(f"{'total':<14} ${estimate.total_usd:.4f} for {scenes} scenes")


@channels_cli.command("sync")
def channels_sync(
    directory: Annotated[Path | None, typer.Option(help="Folder of channel YAML files.")] = None,
) -> None:
    """Validate every channel YAML and upsert it into the database."""
    setup_process("channels-sync")
    from app.channels.config import ChannelConfigError, load_channel_configs

    settings = get_settings()
    with exit_on(ChannelConfigError):
        configs = load_channel_configs(directory or settings.channel_configs_dir)
    report = asyncio.run(_sync(configs))
    typer.echo(f"✅ channels synced: {report}")


async def _sync(configs: Sequence[ChannelConfig]) -> SyncReport:
    from app.channels.sync import sync_channels
    from app.core.database import session_scope
    from app.core.migrations import upgrade_to_head

    async with database("channels-sync"):
        await upgrade_to_head()
        async with session_scope() as session:
            return await sync_channels(session, configs)


@cli.command()
def worker() -> None:
    """Run one worker: takes item jobs of every pool; stops gracefully on SIGTERM."""
    setup_process(os.environ.get("WORKER_NAME", "worker"))
    _refuse_on_fatal_problems()
    from app.worker import main_async

    asyncio.run(main_async())


def _refuse_on_fatal_problems() -> None:
    """A worker that cannot do the work (no FFmpeg, a missing key) stops here, saying why."""
    from app.ops.preflight import PreflightError, gate_startup

    with exit_on(PreflightError):
        asyncio.run(gate_startup(get_settings(), "worker"))


@cli.command()
def up(
    workers: Annotated[int, typer.Option(min=1, max=16, help="Worker processes.")] = 3,
    port: Annotated[int | None, typer.Option(help="Web port (default PORT or 8000).")] = None,
) -> None:
    """Start everything locally: database, migrations, channels, web and workers (Ctrl-C stops).

    A child that dies is restarted with backoff (see ``app.ops.fleet``); only Ctrl-C or SIGTERM
    stops the fleet.
    """
    setup_process("up")
    from app.ops.fleet import Fleet, prefixed_printer, serve_forever

    _prepare_database()
    fleet = Fleet(workers=workers, port=port, log_sink=prefixed_printer())
    fleet.start()
    typer.echo(
        f"✅ fleet up: web on port {port or get_settings().port}, {workers} workers (Ctrl-C stops)"
    )
    received = serve_forever(fleet)
    typer.echo(f"fleet stopped ({received or 'no signal'})")


@cli.command()
def demo(
    topic: Annotated[
        str | None, typer.Option(help="What the video is about (default: a sample).")
    ] = None,
    plan: Annotated[Path | None, typer.Option(help="A hand-written plan JSON file.")] = None,
    review: Annotated[
        bool, typer.Option(help="Wait for your approvals instead of auto-approving.")
    ] = False,
    workers: Annotated[int, typer.Option(min=1, max=8)] = 3,
) -> None:
    """Make one video end to end, offline, on the demo channel, and print where it is."""
    configure_logging("WARNING", "console", process="demo")  # the progress bars are the output
    from app.ops.demo import DemoError, DemoOptions, run_demo

    _prepare_database()
    with exit_on(DemoError):
        run_demo(DemoOptions(topic=topic, plan_file=plan, review=review, workers=workers))


def _prepare_database() -> None:
    """Start (or reach) the database, migrate it and sync channels before children start."""
    from app.channels.config import ChannelConfigError, load_channel_configs

    with exit_on(ChannelConfigError):
        configs = load_channel_configs(get_settings().channel_configs_dir)
    asyncio.run(_sync(configs))


@keys_cli.command("generate")
def keys_generate() -> None:
    """Print a new Fernet key: put it FIRST in FERNET_KEYS, then run `vidgen keys rotate`."""
    from app.core.encryption import generate_key

    typer.echo(generate_key())


@keys_cli.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every stored credential with the newest key in FERNET_KEYS."""
    setup_process("keys-rotate")

    async def run() -> int:
        from app.channels.credentials import reencrypt_all
        from app.core.database import session_scope

        async with database("keys-rotate"):
            async with session_scope() as session:
                return await reencrypt_all(session)

    count = asyncio.run(run())
    typer.echo(f"✅ re-encrypted {count} credential(s) with the newest key")


def main() -> None:
    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
