"""``vidgen notion ...``: prepare a board, and show the webhook verification token to paste back.

``vidgen notion setup DATABASE_ID`` adds the columns and Status options the product needs to an
existing database (only adds; run it again at any time). Its requests go through the same
fleet-wide rate limiter as the web process, so it needs the database (``DATABASE_URL`` or the
embedded one).
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from pydantic import ValidationError

from app.core.config import get_settings

notion_cli = typer.Typer(
    help="The Notion board: setup and webhook verification.", no_args_is_help=True
)


def _database_id(value: str) -> str:
    """An id as Notion shows it (hyphens or not) or the database's URL, in the API's form."""
    from app.channels.config_schema import NotionSettings

    candidate = (
        value.rstrip("/").split("/")[-1].split("?")[0].split("-")[-1] if "/" in value else value
    )
    try:
        database_id = NotionSettings(database_id=candidate).database_id
    except ValidationError:
        typer.echo(
            f"❌ '{value}' is not a Notion database id (32 hex digits from its URL)", err=True
        )
        raise typer.Exit(2) from None
    assert database_id is not None
    return database_id


@notion_cli.command("setup")
def setup(
    database_id: Annotated[str, typer.Argument(help="The database id (or its URL).")],
    dry_run: Annotated[bool, typer.Option(help="Only show what would change.")] = False,
) -> None:
    """Add the board's columns and Status options to an existing Notion database (idempotent)."""
    from app.cli.common import database, exit_on, setup_process
    from app.notion.client import NotionError
    from app.notion.setup import SetupResult, setup_board

    target = _database_id(database_id)
    setup_process("notion-setup")
    settings = get_settings()
    if settings.notion_api_token is None:
        typer.echo(
            "❌ NOTION_API_TOKEN is not set: create an integration and share the database with it",
            err=True,
        )
        raise typer.Exit(1)

    async def run() -> SetupResult:
        from app.core.migrations import upgrade_to_head
        from app.notion.sync import build_client

        async with database("notion-setup"):
            await upgrade_to_head()
            client = build_client(settings)
            try:
                return await setup_board(client, target, dry_run=dry_run)
            finally:
                await client.aclose()

    with exit_on(NotionError):
        result = asyncio.run(run())
    verb = "would add" if dry_run else "added"
    for column in result.added_columns:
        typer.echo(f"  + {verb} column {column}")
    if result.added_options:
        typer.echo(f"  + {verb} Status options: {', '.join(result.added_options)}")
    for item in result.needs_you:
        typer.echo(f"  ! {item}")
    if result.needs_you:
        typer.echo(f"❌ board {target} needs the changes marked ! before it can be used", err=True)
        raise typer.Exit(1)
    if result.changed:
        typer.echo(f"✅ board {target} {'can be' if dry_run else 'is'} set up")
    else:
        typer.echo(f"✅ board {target} is already set up: nothing to change")


@notion_cli.command("webhook-token")
def webhook_token() -> None:
    """Print the verification token(s) Notion sent to /webhook/notion, to paste back into Notion."""
    from app.cli.common import database, setup_process

    setup_process("notion-webhook-token")

    async def run() -> list[tuple[str, str]]:
        from app.core.database import session_scope
        from app.notion.webhook import verification_tokens

        async with database("notion-webhook-token"):
            async with session_scope() as session:
                found = await verification_tokens(session, get_settings())
            return [(at.isoformat(timespec="seconds"), token) for at, token in found]

    tokens = asyncio.run(run())
    if not tokens:
        typer.echo(
            "❌ no verification token received yet: create the webhook subscription in Notion",
            err=True,
        )
        raise typer.Exit(1)
    for position, (received, token) in enumerate(tokens):
        note = " (trusted: signs events)" if position == 0 else " (ignored: not the first)"
        typer.echo(f"{received}  {token}{note}")
