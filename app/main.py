"""The web application: ``create_app()`` builds it; uvicorn runs it as a factory (``vidgen web``)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI

from app.api.deps import require_token
from app.api.error_handlers import install_error_handlers
from app.api.request_guards import BodySizeLimitMiddleware, RejectNulInUrlMiddleware
from app.api.responses import ERROR_RESPONSES
from app.api.routes import (
    artifacts,
    audit_logs,
    channels,
    health,
    metrics,
    performance,
    reviews,
    task_actions,
    task_media,
    tasks,
    video_costs,
    webhooks,
    youtube_quota,
)
from app.api.routes.task_media import MEDIA_UPLOAD_PATH
from app.channels.config import ChannelConfigError, load_channel_configs
from app.channels.sync import sync_channels
from app.core.config import Settings, get_settings
from app.core.database import dispose_engine, init_engine, session_scope
from app.core.logging import configure_logging, get_logger, register_secret
from app.dashboard import actions as dashboard_actions
from app.dashboard import auth as dashboard_auth
from app.dashboard import pages as dashboard
from app.notion.sync import notion_poller
from app.ops.preflight import gate_startup
from app.pipeline.dispatcher import Dispatcher

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
        await sync_channels(session, configs)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    configure_logging(settings.log_level, settings.log_format, process="web")
    token = settings.api_token.get_secret_value() if settings.api_token else ""
    if token:
        register_secret(token)
    else:
        log.warning("web.api_token_missing", detail="every /api/v1 request will get 401")
    init_engine(application_name="web", settings=settings)
    dispatcher = Dispatcher()
    dispatcher_task: asyncio.Task[None] | None = None
    try:
        await gate_startup(settings, "web")  # refuses on fatal problems, listing them all
        await sync_channel_configs(settings)
        dispatcher_task = asyncio.create_task(dispatcher.run(), name="dispatcher")
        app.state.dispatcher = dispatcher
        async with notion_poller(settings) as app.state.notion_poller:
            log.info("web.started")
            yield
    finally:
        dispatcher.stop()
        if dispatcher_task is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(dispatcher_task, 10)
        await dispose_engine()


def _api_router() -> APIRouter:
    """Every resource under /api/v1; the token check sits here so no route can forget it."""
    api = APIRouter(
        prefix=API_PREFIX, dependencies=[Depends(require_token)], responses=ERROR_RESPONSES
    )
    api.include_router(channels.router)
    api.include_router(tasks.router)
    api.include_router(task_actions.router)
    api.include_router(task_media.router)
    api.include_router(reviews.router)
    api.include_router(youtube_quota.router)
    api.include_router(artifacts.router)
    api.include_router(video_costs.router)
    api.include_router(performance.router)
    api.include_router(audit_logs.router)
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
    # Outermost: a hostile request is refused before routing, auth or any body read.
    app.add_middleware(RejectNulInUrlMiddleware)
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=app.state.settings.max_request_body_bytes,
        limits=[
            ("/webhook/", app.state.settings.max_webhook_body_bytes),
            (MEDIA_UPLOAD_PATH, app.state.settings.max_media_upload_bytes),
        ],
    )
    app.include_router(health.router)
    app.include_router(webhooks.router)
    app.include_router(_api_router())
    app.include_router(metrics.router)
    app.include_router(dashboard_auth.router)
    app.include_router(dashboard.router)
    app.include_router(dashboard_actions.router)
    return app


__all__ = ["API_PREFIX", "create_app", "lifespan", "sync_channel_configs"]
