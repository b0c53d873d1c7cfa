"""Operator alerts: always an ``alert`` log event, and a Discord message when
``DISCORD_WEBHOOK_URL`` is set.

``send_alert`` returns at once: delivery is a background task with a deadline, so a slow or dead
Discord never holds up a worker, and nothing delivery raises reaches the caller. The same alert
(same kind and task/channel/step/code, or an explicit ``key``) goes out at most once per
10 minutes across the fleet (``alert_dedupe``); Discord's 429s are honoured, JSON or HTML.

Alerts about a state change wait for its commit: ``alert_after_commit`` parks the alert on the
session and a session ``after_commit`` listener sends it (a rollback drops it), so nobody is
told a task failed when the transaction that failed it was rolled back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from aiolimiter import AsyncLimiter
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.alerts.dedupe import AlertDedupe, PostgresDedupe
from app.alerts.discord import PostResult, build_payload, post_message, protect_url
from app.core.config import Settings, get_settings
from app.core.logging import get_logger
from app.core.time import Backoff, utc_now

log = get_logger("alerts")

DEDUPE_WINDOW = timedelta(minutes=10)
DELIVERY_TIMEOUT_S = 30.0
REQUEST_TIMEOUT_S = 10.0
MAX_ATTEMPTS = 4
RETRY_BASE_S = 0.5  # after a 5xx or a transport error: 0.5 s, 1 s, 2 s, ...
MAX_PENDING = 100
KEY_FIELDS = ("task_id", "channel", "step", "code")
_AFTER_COMMIT = "vidgen.alerts_after_commit"

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Alert:
    kind: str
    title: str
    message: str
    key: str
    fields: dict[str, Any] = field(default_factory=dict)


def make_alert(
    kind: str, title: str, message: str, *, key: str | None = None, **fields: Any
) -> Alert:
    """The dedupe key defaults to the kind plus whichever of task/channel/step/code are given."""
    if key is None:
        parts = [f"{name}={fields[name]}" for name in KEY_FIELDS if fields.get(name)]
        key = ":".join([kind, *parts]) if parts else f"{kind}:{title}"
    return Alert(kind=kind, title=title, message=message, key=key, fields=dict(fields))


class Alerter:
    """Delivers alerts to one webhook; one per process (``get_alerter``), or built by tests."""

    def __init__(
        self,
        *,
        webhook_url: str | None,
        public_base_url: str | None = None,
        dedupe: AlertDedupe | None = None,
        clock: Clock = utc_now,
        window: timedelta = DEDUPE_WINDOW,
        timeout_s: float = DELIVERY_TIMEOUT_S,
        request_timeout_s: float = REQUEST_TIMEOUT_S,
        max_attempts: int = MAX_ATTEMPTS,
        retry_base_s: float = RETRY_BASE_S,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self.webhook_url = webhook_url or None
        if self.webhook_url:
            protect_url(self.webhook_url)
        self.public_base_url = public_base_url.rstrip("/") if public_base_url else None
        self.dedupe: AlertDedupe = dedupe or PostgresDedupe()
        self.clock = clock
        self.window = window
        self.timeout_s = timeout_s
        self.request_timeout_s = request_timeout_s
        # Exact waits, capped low: delivery has its own overall ``timeout_s`` to stay within.
        self.backoff = Backoff(attempts=max_attempts, base_s=retry_base_s, cap_s=8.0, jitter=False)
        self.max_pending = max_pending
        self._limiter = AsyncLimiter(5, 2)  # a webhook's bucket: 5 requests per 2 seconds
        self._blocked_until = 0.0  # loop time before which Discord asked us not to post
        self._pending: set[asyncio.Task[str]] = set()
        self._client: httpx.AsyncClient | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Alerter:
        url = settings.discord_webhook_url
        return cls(
            webhook_url=url.get_secret_value() if url else None,
            public_base_url=settings.public_base_url,
        )

    def submit(self, alert: Alert) -> None:
        """Start delivering in the background; never raises, never waits."""
        if not self.webhook_url:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            log.warning("alert.not_sent", kind=alert.kind, reason="no running event loop")
            return
        if len(self._pending) >= self.max_pending:
            log.warning("alert.dropped", kind=alert.kind, reason="too many alerts in flight")
            return
        task = loop.create_task(self.deliver(alert), name=f"alert:{alert.kind}")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def deliver(self, alert: Alert) -> str:
        """``sent``, ``suppressed``, ``failed`` or ``disabled``; errors are logged, not raised."""
        if not self.webhook_url:
            return "disabled"
        claimed_at = self.clock()
        try:
            return await asyncio.wait_for(self._deliver(alert, claimed_at), self.timeout_s)
        except TimeoutError:
            reason = f"no answer within {self.timeout_s:g}s"
        except Exception as exc:  # alerting must never break the code that raised the alert
            reason = type(exc).__name__
        log.warning("alert.delivery_failed", kind=alert.kind, key=alert.key, reason=reason)
        with contextlib.suppress(Exception):
            await self.dedupe.release(alert.key, claimed_at)
        return "failed"

    def _link(self, alert: Alert) -> str | None:
        link = alert.fields.get("link")
        if link:
            return str(link)
        task_id = alert.fields.get("task_id")
        if task_id and self.public_base_url:
            return f"{self.public_base_url}/api/v1/tasks/{task_id}"
        return None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.request_timeout_s)
        return self._client

    async def _deliver(self, alert: Alert, now: datetime) -> str:
        suppressed = await self.dedupe.claim(alert.key, alert.kind, now, self.window)
        if suppressed is None:
            log.info("alert.suppressed", kind=alert.kind, key=alert.key)
            return "suppressed"
        link = self._link(alert)
        payload = build_payload(
            kind=alert.kind,
            title=alert.title,
            message=alert.message,
            fields={**alert.fields, "link": link},
            at=now,
            link=link,
            suppressed=suppressed,
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        result = PostResult(ok=False, reason="not attempted")
        assert self.webhook_url is not None
        for attempt in range(1, self.backoff.attempts + 1):
            wait = self._blocked_until - loop.time()
            if wait > 0:
                if loop.time() + wait > deadline:
                    result = PostResult(ok=False, reason=f"rate limited for {wait:.1f}s more")
                    break
                await asyncio.sleep(wait)
            async with self._limiter:
                result = await post_message(self._http(), self.webhook_url, payload)
            if result.ok:
                if result.bucket_reset_after:
                    self._block_for(result.bucket_reset_after)
                log.info("alert.delivered", kind=alert.kind, key=alert.key, attempts=attempt)
                return "sent"
            if result.status == 429:
                self._block_for(result.retry_after or 1.0)
                log.warning(
                    "alert.discord_rate_limited",
                    kind=alert.kind,
                    retry_after=result.retry_after,
                    scope=result.rate_limit_scope,
                )
                continue
            if result.status is not None and result.status < 500:
                break  # our payload or the webhook is wrong: retrying won't help
            backoff = self.backoff.delay(attempt)
            if attempt == self.backoff.attempts or loop.time() + backoff > deadline:
                break
            log.warning("alert.delivery_retry", kind=alert.kind, reason=result.reason)
            await asyncio.sleep(backoff)
        log.warning("alert.delivery_failed", kind=alert.kind, key=alert.key, reason=result.reason)
        await self.dedupe.release(alert.key, now)
        return "failed"

    def _block_for(self, seconds: float) -> None:
        until = asyncio.get_running_loop().time() + seconds
        self._blocked_until = max(self._blocked_until, until)

    async def drain(self, wait_s: float) -> None:
        """Wait (at most ``wait_s``) for deliveries in flight: at shutdown, and in tests."""
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=wait_s)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


_alerter: Alerter | None = None


def get_alerter() -> Alerter:
    """The process's alerter, built from the settings on first use."""
    global _alerter
    if _alerter is None:
        _alerter = Alerter.from_settings(get_settings())
    return _alerter


def configure_alerts(alerter: Alerter | None) -> None:
    """Replace the process's alerter (tests); None rebuilds it from the settings on next use."""
    global _alerter
    _alerter = alerter


def _emit(alert: Alert) -> None:
    log.warning("alert", kind=alert.kind, title=alert.title, message=alert.message, **alert.fields)
    try:
        get_alerter().submit(alert)
    except Exception as exc:  # a broken alert config must not fail the caller either
        log.warning("alert.not_sent", kind=alert.kind, reason=type(exc).__name__)


async def send_alert(
    kind: str, title: str, message: str, *, key: str | None = None, **fields: Any
) -> None:
    """Log the alert and start its delivery; returns without waiting for Discord.

    Fields must be non-secret (they are logged and posted; known secret shapes are redacted
    anyway). ``task_id``, ``channel``, ``step``, ``code``, ``error`` and ``link`` get their own
    embed fields; others are shown by name.
    """
    _emit(make_alert(kind, title, message, key=key, **fields))


def alert_after_commit(
    session: AsyncSession | Session,
    kind: str,
    title: str,
    message: str,
    *,
    key: str | None = None,
    **fields: Any,
) -> None:
    """Send the alert once the session's transaction commits; drop it if it rolls back."""
    session.info.setdefault(_AFTER_COMMIT, []).append(
        make_alert(kind, title, message, key=key, **fields)
    )


@event.listens_for(Session, "after_commit")
def _send_committed_alerts(session: Session) -> None:
    for alert in session.info.pop(_AFTER_COMMIT, None) or ():
        _emit(alert)


@event.listens_for(Session, "after_rollback")
def _drop_rolled_back_alerts(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT, None)
