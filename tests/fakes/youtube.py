"""A local stand-in for Google OAuth and the YouTube Data API v3 (uploads, videos, thumbnails).

It follows shared/reference/external-apis.md section 2: the token endpoint (``refresh_token`` and
PKCE ``authorization_code`` grants, ``invalid_grant``), a consent page that redirects straight
back to the loopback ``redirect_uri``, resumable ``videos.insert`` (``Location`` session URI,
``Content-Range`` chunks that must be 256 KiB multiples, ``308`` with ``Range``, ``201`` with the
video, ``bytes */TOTAL`` status queries, 404/410 for unknown or expired sessions),
``videos.list``/``videos.update``, ``thumbnails.set``, the after-upload endpoints of
``tests.fakes.youtube_after`` (statistics, analytics, captions), 403 ``quotaExceeded`` and 401 ``authError``.

Tests script faults: a 503 or a dropped connection when the upload reaches a byte offset (the
bytes before it are kept, as Google keeps what it received), slow chunks, an answer held
back at a byte count (to kill a worker at a known point), expired sessions, sessions that
vanish part-way (404 once they hold N bytes), revoked refresh tokens, a token endpoint that
answers 503. Several clients (Cloud projects) can share one fake: ``add_client``. Uploaded bytes
are hashed per video so a test can compare checksums.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from tests.fakes import youtube_after
from tests.fakes.server import serve
from tests.fakes.youtube_sessions import session_put

THUMBNAIL_MAX_BYTES = 2 * 1024 * 1024
CLIENT_ID = "fake-client-id.apps.googleusercontent.com"
CLIENT_SECRET = "fake-client-secret-0123456789"
REFRESH_TOKEN = "1//fake-refresh-token-0123456789abcdef"
SESSION_PATH = "/upload/youtube/v3/videos"
# What a refresh token grants unless ``refresh_scopes`` says otherwise (an old token lacks
# the analytics scope: set its entry without it).
FULL_SCOPE = " ".join(
    f"https://www.googleapis.com/auth/{s}"
    for s in ("youtube.upload", "youtube", "youtube.force-ssl", "yt-analytics.readonly")
)
FaultKind = Literal["drop", "503"]


@dataclass
class Fault:
    at: int
    kind: FaultKind


@dataclass
class UploadSession:
    id: str
    resource: dict[str, Any]
    total: int
    content_type: str
    data: bytearray = field(default_factory=bytearray)
    video_id: str | None = None
    gone_status: int | None = None
    vanish_at: int | None = None  # becomes gone once it holds this many bytes


@dataclass
class Video:
    id: str
    resource: dict[str, Any]
    size: int
    sha256: str
    session_id: str
    published_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def google_error(
    status: int, reason: str, message: str, domain: str = "youtube.api"
) -> JSONResponse:
    errors = [{"message": message, "domain": domain, "reason": reason}]
    return JSONResponse(
        {"error": {"code": status, "message": message, "errors": errors}}, status_code=status
    )


@dataclass
class YouTubeFake:
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    refresh_tokens: set[str] = field(default_factory=lambda: {REFRESH_TOKEN})
    access_ttl_s: int = 3599
    chunk_delay_s: float = 0.0
    quota_exceeded: bool = False  # every client's project is out of quota
    exhausted_clients: set[str] = field(default_factory=set)  # only these projects are
    deny_consent: bool = False
    auth_errors: int = 0  # the next N API calls answer 401 authError (an expired token)
    token_unavailable: int = 0  # the next N token requests answer 503 (Google's outage shape)
    insert_unavailable: int = 0  # the next N videos.insert initiations answer 503 backendError
    vanish_at: list[int] = field(default_factory=list)  # next sessions: 404 once they hold N bytes
    clients: dict[str, str] = field(default_factory=dict)  # more client id -> secret pairs
    faults: list[Fault] = field(default_factory=list)
    sessions: dict[str, UploadSession] = field(default_factory=dict)
    videos: dict[str, Video] = field(default_factory=dict)
    thumbnails: dict[str, bytes] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    chunk_starts: list[int] = field(default_factory=list)
    in_flight: int = 0  # session PUTs being handled
    hold_at: int | None = None  # hold the answer to the chunk that reaches this many bytes
    holding: bool = False
    access_tokens: dict[str, float] = field(default_factory=dict)
    token_clients: dict[str, str] = field(default_factory=dict)  # access token -> client id
    token_scopes: dict[str, str] = field(default_factory=dict)  # access token -> its scopes
    refresh_scopes: dict[str, str] = field(default_factory=dict)  # refresh token -> granted
    captions: dict[str, youtube_after.Caption] = field(default_factory=dict)
    hold_captions: bool = False  # store a caption, then never answer (see youtube_after)
    captions_held: int = 0
    clock_offset_s: float = 0.0  # simulated time: tests move the fake's now() forward
    _codes: dict[str, dict[str, str]] = field(default_factory=dict)

    # -- what tests script -------------------------------------------------------------------
    def fault_at(self, *offsets: int, kind: FaultKind = "drop") -> None:
        """When an upload reaches each byte offset: keep what came before, then fail."""
        self.faults.extend(Fault(offset, kind) for offset in offsets)
        self.faults.sort(key=lambda f: f.at)

    def expire_session(self, session_id: str, status: int = 404) -> None:
        self.sessions[session_id].gone_status = status

    def revoke(self, refresh_token: str = REFRESH_TOKEN) -> None:
        self.refresh_tokens.discard(refresh_token)

    def vanish_sessions(self, *at_bytes: int) -> None:
        """The next sessions started disappear (404) once each holds the given byte count."""
        self.vanish_at.extend(at_bytes)

    def add_client(self, client_id: str, client_secret: str) -> None:
        """Another OAuth client (another Cloud project) whose tokens this fake also accepts."""
        self.clients[client_id] = client_secret

    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time() + self.clock_offset_s, UTC)

    def known_client(self, client_id: object, client_secret: object) -> bool:
        if client_id == self.client_id:
            return client_secret == self.client_secret
        return isinstance(client_id, str) and self.clients.get(client_id) == client_secret

    # -- what tests read ---------------------------------------------------------------------
    @property
    def videos_created(self) -> int:
        return len(self.videos)

    def received(self, session_id: str) -> int:
        session = self.sessions[session_id]
        return session.total if session.video_id else len(session.data)

    # -- handlers ----------------------------------------------------------------------------
    def check_bearer(self, request: Request) -> JSONResponse | None:
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ").strip()
        expiry = self.access_tokens.get(token)
        if self.auth_errors > 0 or expiry is None or expiry < time.monotonic():
            self.auth_errors = max(self.auth_errors - 1, 0)
            response = google_error(
                401, "authError", "Request had invalid authentication credentials.", "global"
            )
            response.headers["WWW-Authenticate"] = 'Bearer realm="https://accounts.google.com/"'
            return response
        if self.quota_exceeded or self.token_clients.get(token) in self.exhausted_clients:
            return google_error(
                403,
                "quotaExceeded",
                "The request cannot be completed because you have exceeded your quota.",
                "youtube.quota",
            )
        return None

    def issue_access_token(
        self, client_id: str = CLIENT_ID, scope: str = FULL_SCOPE
    ) -> dict[str, Any]:
        token = f"ya29.fake-{secrets.token_urlsafe(24)}"
        self.access_tokens[token] = time.monotonic() + self.access_ttl_s
        self.token_clients[token] = client_id
        self.token_scopes[token] = scope
        return {
            "access_token": token,
            "expires_in": self.access_ttl_s,
            "scope": scope,
            "token_type": "Bearer",
        }

    def finish(self, session: UploadSession) -> Video:
        video_id = secrets.token_urlsafe(8)[:11]
        snippet = dict(session.resource.get("snippet") or {})
        status = {"privacyStatus": "public", **(session.resource.get("status") or {})}
        resource = {
            "kind": "youtube#video",
            "id": video_id,
            "snippet": snippet,
            "status": {"uploadStatus": "uploaded", **status},
        }
        video = Video(
            id=video_id,
            resource=resource,
            size=len(session.data),
            sha256=hashlib.sha256(session.data).hexdigest(),
            session_id=session.id,
            published_at=self.now(),
        )
        self.videos[video_id] = video
        session.video_id = video_id
        session.data = bytearray()  # the hash is what tests compare; free the memory
        return video


def _metadata_problem(resource: dict[str, Any]) -> str | None:
    snippet = resource.get("snippet") or {}
    status = resource.get("status") or {}
    title = snippet.get("title")
    if not isinstance(title, str) or not title.strip():
        return "The request metadata does not specify a valid video title."
    description = snippet.get("description") or ""
    if len(title) > 100 or len(description.encode()) > 5000:
        return "The request metadata specifies a title or description that is too long."
    if any(c in title + description for c in "<>"):
        return "The request metadata contains '<' or '>'."
    if status.get("publishAt") and status.get("privacyStatus") != "private":
        return "publishAt can only be set on private videos."
    return None


def create_app(fake: YouTubeFake | None = None) -> tuple[Any, YouTubeFake]:
    state = fake or YouTubeFake()
    api = FastAPI()

    @api.get("/o/oauth2/v2/auth")
    async def consent(request: Request) -> Response:
        q = request.query_params
        redirect = q.get("redirect_uri", "")
        if q.get("client_id") != state.client_id or not redirect.startswith("http://127.0.0.1:"):
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return JSONResponse({"error": "invalid_request", "error_description": "PKCE required"}, status_code=400)  # fmt: skip
        if state.deny_consent:
            return RedirectResponse(f"{redirect}?{urlencode({'error': 'access_denied', 'state': q.get('state', '')})}")  # fmt: skip
        code = f"4/fake-code-{secrets.token_urlsafe(12)}"
        state._codes[code] = {"challenge": q["code_challenge"], "redirect_uri": redirect, "scope": q.get("scope", "")}  # fmt: skip
        return RedirectResponse(f"{redirect}?{urlencode({'code': code, 'state': q.get('state', ''), 'scope': q.get('scope', '')})}")  # fmt: skip

    @api.post("/token")
    async def token(request: Request) -> JSONResponse:
        form = await request.form()
        grant = str(form.get("grant_type"))
        state.calls[f"token.{grant}"] += 1
        if state.token_unavailable > 0:
            state.token_unavailable -= 1
            state.calls["token.unavailable"] += 1
            return JSONResponse({"error": "server_error", "error_description": "Service unavailable."}, status_code=503)  # fmt: skip
        if not state.known_client(form.get("client_id"), form.get("client_secret")):
            return JSONResponse({"error": "invalid_client", "error_description": "Unauthorized"}, status_code=401)  # fmt: skip
        if grant == "refresh_token":
            if form.get("refresh_token") not in state.refresh_tokens:
                return JSONResponse({"error": "invalid_grant", "error_description": "Token has been expired or revoked."}, status_code=400)  # fmt: skip
            refresh = str(form.get("refresh_token"))
            scope = state.refresh_scopes.get(refresh, FULL_SCOPE)
            return JSONResponse(state.issue_access_token(str(form.get("client_id")), scope))
        if grant == "authorization_code":
            issued = state._codes.pop(str(form.get("code")), None)
            verifier = str(form.get("code_verifier") or "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()  # fmt: skip
            if issued is None or digest != issued["challenge"] or form.get("redirect_uri") != issued["redirect_uri"]:  # fmt: skip
                return JSONResponse({"error": "invalid_grant", "error_description": "Bad Request"}, status_code=400)  # fmt: skip
            refresh = f"1//fake-{secrets.token_urlsafe(24)}"
            state.refresh_tokens.add(refresh)
            state.refresh_scopes[refresh] = issued["scope"]
            return JSONResponse({**state.issue_access_token(str(form.get("client_id")), issued["scope"]), "refresh_token": refresh})  # fmt: skip
        return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)

    @api.post(SESSION_PATH)
    async def initiate(request: Request) -> Response:
        state.calls["videos.insert"] += 1
        if (refusal := state.check_bearer(request)) is not None:
            return refusal
        if state.insert_unavailable > 0:
            state.insert_unavailable -= 1
            return google_error(503, "backendError", "Backend Error", "global")
        if request.query_params.get("uploadType") != "resumable":
            return google_error(400, "badRequest", "only resumable uploads are faked")
        resource = await request.json()
        if (problem := _metadata_problem(resource)) is not None:
            return google_error(400, "invalidVideoMetadata", problem)
        length = request.headers.get("x-upload-content-length")
        if not length or not length.isdigit() or int(length) == 0:
            return google_error(400, "badContent", "X-Upload-Content-Length is required")
        session = UploadSession(
            id=secrets.token_urlsafe(18),
            resource=resource,
            total=int(length),
            content_type=request.headers.get("x-upload-content-type", "video/*"),
            vanish_at=state.vanish_at.pop(0) if state.vanish_at else None,
        )
        state.sessions[session.id] = session
        location = f"{str(request.base_url).rstrip('/')}{SESSION_PATH}?{urlencode({'uploadType': 'resumable', 'upload_id': session.id})}"  # fmt: skip
        return Response(status_code=200, headers={"Location": location})

    @api.get("/youtube/v3/videos")
    async def list_videos(request: Request) -> Response:
        state.calls["videos.list"] += 1
        if (refusal := state.check_bearer(request)) is not None:
            return refusal
        parts = request.query_params.get("part", "").split(",")
        ids = [i for i in request.query_params.get("id", "").split(",") if i]
        items = [
            {"kind": "youtube#video", "id": v.id, **{p: v.resource[p] for p in parts if p in v.resource}, **({"statistics": youtube_after.statistics(state, v)} if "statistics" in parts else {})}
            for i in ids
            if (v := state.videos.get(i)) is not None
        ]  # fmt: skip
        return JSONResponse({"kind": "youtube#videoListResponse", "items": items, "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)}})  # fmt: skip

    @api.put("/youtube/v3/videos")
    async def update_video(request: Request) -> Response:
        state.calls["videos.update"] += 1
        if (refusal := state.check_bearer(request)) is not None:
            return refusal
        body = await request.json()
        video = state.videos.get(str(body.get("id")))
        if video is None:
            return google_error(404, "videoNotFound", "The video that you are trying to update cannot be found.")  # fmt: skip
        parts = [p for p in request.query_params.get("part", "").split(",") if p]
        if "snippet" in parts and not (body.get("snippet") or {}).get("categoryId"):
            return google_error(400, "invalidCategoryId", "snippet.categoryId is required")
        merged = {**video.resource, **{p: body.get(p, {}) for p in parts}}
        if (problem := _metadata_problem(merged)) is not None:
            return google_error(400, "invalidVideoMetadata", problem)
        video.resource = merged
        return JSONResponse(video.resource)

    @api.post("/upload/youtube/v3/thumbnails/set")
    async def set_thumbnail(request: Request) -> Response:
        state.calls["thumbnails.set"] += 1
        if (refusal := state.check_bearer(request)) is not None:
            return refusal
        video_id = request.query_params.get("videoId", "")
        if video_id not in state.videos:
            return google_error(404, "videoNotFound", "The video that you are trying to update cannot be found.")  # fmt: skip
        data = await request.body()
        if len(data) > THUMBNAIL_MAX_BYTES:
            return google_error(413, "mediaBodyTooLarge", "The thumbnail image file is too large.")
        if not (data.startswith(b"\xff\xd8\xff") or data.startswith(b"\x89PNG")):
            return google_error(400, "invalidImage", "The provided image content is invalid.")
        state.thumbnails[video_id] = data
        url = f"https://i.ytimg.com/vi/{video_id}/default.jpg"
        return JSONResponse({"kind": "youtube#thumbnailSetResponse", "items": [{"default": {"url": url, "width": 120, "height": 90}}]})  # fmt: skip

    youtube_after.install(api, state)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "PUT" and scope["path"] == SESSION_PATH:
            await session_put(state, scope, receive, send)
            return
        await api(scope, receive, send)

    return app, state


@contextmanager
def running(fake: YouTubeFake | None = None) -> Iterator[tuple[str, YouTubeFake]]:
    """Serve a fake on loopback; yield its base URL and its state."""
    app, state = create_app(fake)
    with serve(app) as url:
        yield url, state


def settings_env(base_url: str) -> dict[str, str]:
    """The environment that points the app (and its subprocesses) at this fake."""
    return {
        "YOUTUBE_CLIENT_ID": CLIENT_ID,
        "YOUTUBE_CLIENT_SECRET": CLIENT_SECRET,
        "YOUTUBE_BASE_URL": f"{base_url}/youtube/v3",
        "YOUTUBE_UPLOAD_BASE_URL": f"{base_url}/upload/youtube/v3",
        "GOOGLE_TOKEN_URL": f"{base_url}/token",
        "YOUTUBE_ANALYTICS_BASE_URL": f"{base_url}/v2",
        "GOOGLE_AUTH_URL": f"{base_url}/o/oauth2/v2/auth",
    }
