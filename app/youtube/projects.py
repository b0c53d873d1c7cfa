"""Which OAuth client (Google Cloud project) a channel uploads through, hence whose quota it spends.

By default every channel uses the fleet's YOUTUBE_CLIENT_ID and shares the fleet's quota (the
ledger's ``fleet`` project). A channel whose YAML names its own client
(``youtube.oauth_client``: the environment variables holding its id and secret) has its own
project, keyed by its client id; a client id equal to the fleet's is the fleet's project, since
it is the same quota. A named client whose variables are unset is a configuration error, never
a silent fall-back to the fleet's client.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from app.channels.config import ChannelConfig
from app.core.config import Settings

FLEET_PROJECT = "fleet"
FLEET_VARS = ("YOUTUBE_CLIENT_ID", "YOUTUBE_CLIENT_SECRET")


class YouTubeClientMissingError(Exception):
    """The OAuth client the channel uses is not configured; names variables, never values."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ChannelClient:
    project: str
    client_id: str
    client_secret: str = field(repr=False)


def _env(name: str) -> str:
    return os.environ.get(name, "").strip()


def client_variables(config: ChannelConfig | None) -> tuple[str, str]:
    """The names of the variables holding the channel's client id and secret."""
    own = config.youtube.oauth_client if config is not None else None
    return (own.client_id_env, own.client_secret_env) if own is not None else FLEET_VARS


def project_for(client_id: str, settings: Settings) -> str:
    return FLEET_PROJECT if client_id == (settings.youtube_client_id or "") else client_id


def channel_client(config: ChannelConfig | None, settings: Settings) -> ChannelClient:
    """The channel's client id and secret, or ``YouTubeClientMissingError`` naming what to set."""
    own = config.youtube.oauth_client if config is not None else None
    if own is None:
        secret = settings.youtube_client_secret
        client_id, client_secret = (
            settings.youtube_client_id or "",
            secret.get_secret_value() if secret else "",
        )
    else:
        client_id, client_secret = _env(own.client_id_env), _env(own.client_secret_env)
    if not client_id or not client_secret:
        names = " and ".join(client_variables(config))
        slug = config.slug if config is not None else "the channel"
        raise YouTubeClientMissingError(
            f"channel {slug} uploads through the OAuth client in {names}, which are not both set"
        )
    return ChannelClient(project_for(client_id, settings), client_id, client_secret)


def channel_project(config: ChannelConfig | None, settings: Settings) -> str:
    """The ledger project of the channel, even when its client is not (yet) configured."""
    own = config.youtube.oauth_client if config is not None else None
    if own is None:
        return FLEET_PROJECT
    client_id = _env(own.client_id_env)
    return project_for(client_id, settings) if client_id else f"{own.client_id_env} (unset)"
