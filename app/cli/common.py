"""What every ``vidgen`` command does first."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import typer

from app.core.config import get_settings
from app.core.logging import configure_logging


def setup_process(process: str) -> None:
    """Settings checked (every problem listed, no values) and logging configured for ``process``."""
    from pydantic import ValidationError

    try:
        settings = get_settings()
    except ValidationError as exc:  # every invalid variable at once, never their values
        from app.ops.preflight import format_table, settings_problems

        typer.echo("❌ invalid settings (`vidgen check` lists everything):", err=True)
        typer.echo(format_table(settings_problems(exc)), err=True)
        raise typer.Exit(1) from None
    configure_logging(settings.log_level, settings.log_format, process=process)


@contextmanager
def exit_on(*errors: type[Exception]) -> Iterator[None]:
    """A failure the command expects (bad config, a refused API call) is one red line and exit 1,
    never a traceback: every command reports them the same way."""
    try:
        yield
    except errors as exc:
        typer.echo(f"❌ {exc}", err=True)
        raise typer.Exit(1) from None


@asynccontextmanager
async def database(process: str) -> AsyncIterator[None]:
    """The command's own engine, named ``process`` in pg_stat_activity and disposed however the
    command ends, so no command leaves connections open behind it."""
    from app.core.database import dispose_engine, init_engine

    init_engine(application_name=process)
    try:
        yield
    finally:
        await dispose_engine()
