"""``vidgen artifacts ...``: retention by hand (the web leader also runs it every hour).

``vidgen artifacts purge`` removes the intermediate artifacts of tasks published more than
``RETENTION_DAYS`` ago (the final video stays unless ``RETENTION_KEEP_FINAL=false``) and trims
this machine's artifact cache to ``ARTIFACT_CACHE_MAX_BYTES``.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from app.core.config import get_settings

artifacts_cli = typer.Typer(help="The artifact store: retention.", no_args_is_help=True)


@artifacts_cli.command("purge")
def purge(
    dry_run: Annotated[bool, typer.Option(help="Only list what would be removed.")] = False,
) -> None:
    """Remove intermediate artifacts of tasks published more than RETENTION_DAYS ago."""
    from app.artifacts.configured import get_artifact_store
    from app.artifacts.retention import PurgeReport, purge_published, trim_cache
    from app.artifacts.store import ArtifactStoreError
    from app.cli.common import database, exit_on, setup_process

    setup_process("artifacts-purge")
    settings = get_settings()

    async def run() -> PurgeReport:
        async with database("artifacts-purge"):
            return await purge_published(settings=settings, dry_run=dry_run)

    with exit_on(ArtifactStoreError):
        report = asyncio.run(run())
    verb = "would remove" if dry_run else "removed"
    for key in report.deleted_keys:
        typer.echo(f"  {verb} {key}")
    freed = 0
    if not dry_run and not get_artifact_store(settings).is_shared_disk:
        freed = trim_cache(settings.cache_dir, settings.artifact_cache_max_bytes)
    typer.echo(
        f"✅ {len(report.tasks)} task(s) older than {settings.retention_days:g} days: "
        f"{verb} {len(report.deleted_keys)} artifact(s), kept {len(report.kept_keys)}; "
        f"cache trimmed by {freed} bytes"
    )
