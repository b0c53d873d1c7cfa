"""``vidgen oauth youtube CHANNEL``: authorise a channel's uploads (installed-app flow, PKCE).

Google sends the browser back to a loopback address (``http://127.0.0.1:PORT``) where this
command listens. On a headless host, ``--print-url`` prints the consent URL instead of opening a
browser and also accepts the address the browser was sent to, pasted back into the terminal
(the page fails to load there, but its URL carries the code). The refresh token is stored
encrypted in the database, so every process that shares the database can upload.

A refresh token works only with the OAuth client that obtained it, so the consent and the code
exchange use the client the channel uploads through (``app.youtube.projects.channel_client``):
its own ``youtube.oauth_client`` when its YAML names one, else the fleet's YOUTUBE_CLIENT_ID.
A channel whose own client is not configured is refused, never authorised with the fleet's.
"""

from __future__ import annotations

import asyncio
import queue
import secrets
import sys
import threading
import webbrowser
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import parse_qs, urlsplit

import typer

from app.cli.common import exit_on
from app.core.config import get_settings

if TYPE_CHECKING:
    from app.channels.config import ChannelConfig
    from app.models import Channel
    from app.youtube.projects import ChannelClient

oauth_cli = typer.Typer(help="Authorise channels with external services.", no_args_is_help=True)

_PAGE = (
    b"<!doctype html><title>vidgen</title><p>Done: the authorisation reached vidgen. "
    b"You can close this tab and return to the terminal.</p>"
)


class OAuthFlowError(Exception):
    """The consent did not produce a usable code (denied, wrong state, timed out)."""


def parse_redirect(url_or_query: str) -> dict[str, str]:
    """The query of a redirect URL (or a bare query string) as single values."""
    text = url_or_query.strip()
    query = urlsplit(text).query if "?" in text else text
    return {key: values[0] for key, values in parse_qs(query).items() if values}


class _Callback(BaseHTTPRequestHandler):
    results: queue.Queue[dict[str, str]]

    def do_GET(self) -> None:
        params = parse_redirect(self.path)
        if "code" not in params and "error" not in params:
            self.send_error(404)  # a favicon request or a stray visitor
            return
        self.results.put(params)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(_PAGE)))
        self.end_headers()
        self.wfile.write(_PAGE)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the request line carries the authorisation code."""


def _read_pasted(results: queue.Queue[dict[str, str]]) -> None:
    for line in sys.stdin:
        params = parse_redirect(line)
        if "code" in params or "error" in params:
            results.put(params)
            return


def wait_for_code(results: queue.Queue[dict[str, str]], *, state: str, timeout_s: float) -> str:
    try:
        params = results.get(timeout=timeout_s)
    except queue.Empty:
        raise OAuthFlowError(f"no answer from the browser within {timeout_s:.0f} s") from None
    if params.get("state") != state:
        raise OAuthFlowError("the answer's state does not match this request: start again")
    if "error" in params:
        raise OAuthFlowError(f"Google answered {params['error']}: the consent was not given")
    return params["code"]


async def _finish(
    channel: str, client: ChannelClient, code: str, redirect_uri: str, verifier: str
) -> str:
    import httpx

    from app.core.database import dispose_engine, init_engine, session_scope
    from app.youtube.auth import store_youtube_authorisation
    from app.youtube.oauth import OAuthApp, exchange_code

    settings = get_settings()
    app = OAuthApp(
        client_id=client.client_id,
        client_secret=client.client_secret,
        token_url=settings.google_token_url,
    )
    async with httpx.AsyncClient(timeout=30) as http:
        body = await exchange_code(
            http, app, code=code, redirect_uri=redirect_uri, verifier=verifier
        )
    refresh_token = body.get("refresh_token")
    if not refresh_token:
        raise OAuthFlowError(
            "Google returned no refresh token: remove the app's access at "
            "https://myaccount.google.com/permissions and run this again"
        )
    init_engine(application_name="oauth")
    try:
        async with session_scope() as session:
            found, woken = await store_youtube_authorisation(
                session,
                channel_ref=channel,
                refresh_token=str(refresh_token),
                scope=str(body.get("scope", "")),
            )
    finally:
        await dispose_engine()
    return (
        f"channel {found.slug} authorised for YouTube uploads through OAuth client "
        f"{client.client_id} (quota project {client.project}); {woken} waiting upload(s) woken"
    )


def _stored_config(found: Channel) -> ChannelConfig | None:
    """The channel's config, or None (the fleet's client) for a row no config was synced into.

    A stored config that names its own client but no longer validates is an error: falling
    back to the fleet's client would store a token the uploads could not use.
    """
    from app.channels.config import ChannelConfigError
    from app.channels.sync import get_channel_config

    try:
        return get_channel_config(found)
    except ChannelConfigError:
        if ((found.config or {}).get("youtube") or {}).get("oauth_client"):
            raise
        return None


async def _channel_config(channel: str) -> ChannelConfig | None:
    """Looks the channel up (``NotFoundError`` if it was never synced) and returns its config."""
    from app.channels.service import get_channel
    from app.core.database import dispose_engine, init_engine, session_scope

    init_engine(application_name="oauth")
    try:
        async with session_scope() as session:
            return _stored_config(await get_channel(session, channel_ref=channel))
    finally:
        await dispose_engine()


def _resolve_client(channel: str) -> ChannelClient:
    """The channel's OAuth client, or a clear exit: unknown channel (1), client not set (2)."""
    from app.channels.config import ChannelConfigError
    from app.core.errors import NotFoundError
    from app.youtube.projects import YouTubeClientMissingError, channel_client

    try:
        config = asyncio.run(_channel_config(channel))
    except NotFoundError as exc:
        typer.echo(f"❌ {exc.message}: run `vidgen channels sync` first", err=True)
        raise typer.Exit(1) from None
    except ChannelConfigError as exc:
        typer.echo(f"❌ {exc}: fix it and run `vidgen channels sync` first", err=True)
        raise typer.Exit(1) from None
    try:
        return channel_client(config, get_settings())
    except YouTubeClientMissingError as exc:
        typer.echo(f"❌ {exc.message} (a Desktop-app OAuth client)", err=True)
        raise typer.Exit(2) from None


@oauth_cli.command("youtube")
def youtube(
    channel: Annotated[str, typer.Argument(help="Channel slug (or id).")],
    print_url: Annotated[
        bool,
        typer.Option(
            "--print-url",
            help="Headless host: print the URL, and accept the redirected URL pasted back.",
        ),
    ] = False,
    port: Annotated[int, typer.Option(help="Loopback port to listen on (0 = any free).")] = 0,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the consent.")] = 300.0,
) -> None:
    """Authorise CHANNEL's YouTube uploads through its OAuth client; store the token encrypted."""
    from app.core.logging import configure_logging
    from app.youtube.oauth import OAuthError, PkcePair, authorization_url

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format, process="oauth")
    client = _resolve_client(channel)

    results: queue.Queue[dict[str, str]] = queue.Queue()
    handler = type("Callback", (_Callback,), {"results": results})
    server = HTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    redirect_uri = f"http://127.0.0.1:{server.server_port}"
    pkce = PkcePair.new()
    state = secrets.token_urlsafe(16)
    url = authorization_url(
        auth_url=settings.google_auth_url,
        client_id=client.client_id,
        redirect_uri=redirect_uri,
        pkce=pkce,
        state=state,
    )
    typer.echo(
        f"Open this URL and allow access for channel {channel} "
        f"(OAuth client {client.client_id}):\n{url}",
        err=True,
    )
    if print_url:
        typer.echo(
            "Then paste here the address your browser was sent to "
            f"(starting {redirect_uri}/?...; the page itself may fail to load):",
            err=True,
        )
        threading.Thread(target=_read_pasted, args=(results,), daemon=True).start()
    else:
        webbrowser.open(url)
    try:
        with exit_on(OAuthFlowError, OAuthError):
            code = wait_for_code(results, state=state, timeout_s=timeout)
            message = asyncio.run(_finish(channel, client, code, redirect_uri, pkce.verifier))
    finally:
        server.shutdown()
        server.server_close()
    typer.echo(f"✅ {message}")
