"""The web application: ``create_app()`` builds it; uvicorn runs it as a factory (``vidgen web``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI

from app.config import Settings, get_settings
from app.database import dispose_engine, init_engine, session_scope
from app.routes import channels, health, tasks
from app.routes.deps import get_app_settings, require_token
from app.routes.error_handlers import install_error_handlers
from app.routes.responses import ERROR_RESPONSES
from app.services.channel_config import ChannelConfigError, load_channel_configs
from app.services.channel_sync import sync_channels
from app.utils.logging import configure_logging, get_logger, register_secret

API_PREFIX = "/api/v1"

log = get_logger(__name__)


async def sync_channel_configs(settings: Settings) -> None:
    """Upsert ``channel_configs/*.yaml``; a bad file stops start-up with its file and field."""
    try:
        configs = load_channel_configs(settings.channel_configs_dir)
    except ChannelConfigError as exc:
        log.error("web.channel_configs_invalid", error=str(exc))
        raise
    async with session_scope() as session:
        report = await sync_channels(session, configs)
    log.info("web.channels_synced", report=str(report))


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    configure_logging(settings.log_level, settings.log_format, process="web")
    if settings.api_token is not None:
        register_secret(settings.api_token.get_secret_value())
    else:
        log.warning("web.api_token_missing", detail="every /api/v1 request will get 401")
    init_engine(application_name="web", settings=settings)
    try:
        await sync_channel_configs(settings)
        log.info("web.started")
        yield
    finally:
        await dispose_engine()


def _api_router() -> APIRouter:
    """Every resource under /api/v1; the token check sits here so no route can forget it."""
    api = APIRouter(
        prefix=API_PREFIX, dependencies=[Depends(require_token)], responses=ERROR_RESPONSES
    )
    api.include_router(channels.router)
    api.include_router(tasks.router)
    return api


def create_app(settings: Settings | None = None) -> FastAPI:
    app = FastAPI(
        title="ai-video-generator",
        summary="Turns Notion rows into narrated videos on YouTube, across several channels.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings or get_settings()
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(_api_router())
    return app


__all__ = ["API_PREFIX", "create_app", "get_app_settings", "lifespan", "sync_channel_configs"]
