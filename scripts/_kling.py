"""KIE.ai (Kling) image-to-video and the catbox.moe upload it needs (KIE takes images by public URL).

Wire facts: shared/reference/external-apis.md section 3. KIE may answer an error with HTTP 200 and the
real code in the body, so every answer is judged on both. ``createTask`` is the paid call: it is retried
only when the server clearly refused it (429, 455, 5xx, no connection), never after a request may have
reached the server unanswered, because a second create would pay twice.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import _common
import httpx

DEFAULT_BASE_URL = "https://api.kie.ai/api/v1"
DEFAULT_CATBOX_URL = "https://catbox.moe/user/api.php"
DEFAULT_MODEL = "kling/v2-5-turbo-image-to-video-pro"
PROVIDER = "kling"

# Body or HTTP codes worth another try; 401/402/404/422/433/501/505 are final.
RETRYABLE_CODES = frozenset({408, 429, 455, 500, 502, 503, 504})
PENDING_STATES = frozenset({"waiting", "queuing", "generating"})
MAX_DOWNLOAD_BYTES = 1 << 30
_HINTS = {
    401: " (check KIE_API_KEY)",
    402: " (the KIE account is out of credits)",
    433: " (the sub-key's limit is reached)",
    455: " (KIE is under maintenance)",
}
# Errors after which the create request may have been processed: retrying could pay twice.
_AMBIGUOUS = (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError)


def _body(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _judge(response: httpx.Response, what: str) -> dict[str, Any]:
    """Return ``data`` of a good answer; raise HTTPFailure for an error in the status or the body."""
    body = _body(response)
    code = body.get("code") if body else None
    try:
        body_code = int(code) if code is not None else None
    except (TypeError, ValueError):
        body_code = None
    if response.is_success and body is not None and body_code in (None, 200):
        data = body.get("data")
        return data if isinstance(data, dict) else {}
    if not response.is_success:
        status: int | None = response.status_code
    else:
        status = body_code  # None when a 200 answer is not JSON at all
    if body is not None:
        detail = str(body.get("msg") or body.get("message") or "")
    else:
        detail = response.text.strip()[:200]
    shown = status if status is not None else f"HTTP {response.status_code}, not JSON"
    raise _common.HTTPFailure(
        f"{what}: {shown}: {detail}{_HINTS.get(status or 0, '')}",
        status,
        _common.parse_retry_after(response),
        retryable=status is None or status in RETRYABLE_CODES,
    )


class KieClient:
    """The three KIE calls; the key goes in each request's header, never into the shared client."""

    def __init__(self, client: httpx.Client, key: str) -> None:
        self.http = client
        self._headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
        self._base = _common.base_url("KIE_BASE_URL", DEFAULT_BASE_URL)

    def create_task(self, model: str, task_input: dict[str, Any]) -> str:
        url = f"{self._base}/jobs/createTask"
        what = "KIE createTask"

        def call() -> str:
            try:
                response = self.http.post(
                    url, json={"model": model, "input": task_input}, headers=self._headers
                )
            except _AMBIGUOUS as exc:
                raise _common.ScriptError(
                    f"{what}: no answer after the request was sent ({type(exc).__name__}); a task "
                    "may have been created: check the KIE dashboard before running again"
                ) from None
            try:
                data = _judge(response, what)
            except _common.HTTPFailure as exc:
                if exc.status is None:  # a 200 that is not JSON: the task may exist
                    raise _common.ScriptError(str(exc)) from None
                raise
            task_id = data.get("taskId")
            if not isinstance(task_id, str) or not task_id:
                raise _common.ScriptError(f"{what}: the answer holds no taskId")
            return task_id

        return str(_common.with_retries(call, what=what))

    def record_info(self, task_id: str) -> dict[str, Any]:
        url = f"{self._base}/jobs/recordInfo"
        what = "KIE recordInfo"

        def call() -> dict[str, Any]:
            response = self.http.get(url, params={"taskId": task_id}, headers=self._headers)
            return _judge(response, what)

        result: dict[str, Any] = _common.with_retries(call, what=what)
        return result

    def wait_for_result(self, task_id: str, *, poll_interval: float, max_wait: float) -> str:
        """Poll until the task ends; return the first result URL. Errors name the id to resume."""
        deadline = time.monotonic() + max_wait
        interval = poll_interval
        resume = f"the task keeps running: resume with --resume-task-id {task_id}"
        while True:
            try:
                data = self.record_info(task_id)
            except _common.ScriptError as exc:
                raise _common.ScriptError(f"{exc}; {resume}") from None
            state = str(data.get("state") or "").lower()
            if state == "success":
                return result_url(data, task_id)
            if state == "fail":
                code = data.get("failCode") or ""
                message = data.get("failMsg") or "no reason given"
                raise _common.ScriptError(f"Kling task {task_id} failed: {code} {message}".strip())
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _common.ScriptError(
                    f"Kling task {task_id} still {state or 'pending'} after {max_wait:g}s; {resume}"
                )
            time.sleep(min(interval, remaining))
            interval = min(interval * 1.5, poll_interval * 4)


def result_url(data: dict[str, Any], task_id: str) -> str:
    """The first URL of ``resultJson``, which KIE sends as a JSON string (a dict is accepted too)."""
    raw = data.get("resultJson")
    try:
        parsed = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        parsed = None
    urls = parsed.get("resultUrls") if isinstance(parsed, dict) else None
    if not isinstance(urls, list) or not urls or not isinstance(urls[0], str):
        raise _common.ScriptError(
            f"Kling task {task_id} succeeded but resultJson holds no resultUrls"
        )
    url = urls[0].strip()
    if not url.startswith(("https://", "http://")):
        raise _common.ScriptError(
            f"Kling task {task_id} gave a result that is not a URL: {url[:100]}"
        )
    return url


def upload_to_catbox(client: httpx.Client, image: Path, upload_name: str) -> str:
    """Upload ``image`` and return its public URL; catbox reports failure as plain text, even with 200."""
    url = _common.base_url("CATBOX_UPLOAD_URL", DEFAULT_CATBOX_URL)
    schemes = ("https://", "http://") if url.startswith("http://") else ("https://",)
    mime = "image/jpeg" if upload_name.endswith(".jpg") else "image/png"
    what = "catbox upload"

    def call() -> str:
        with image.open("rb") as fh:
            response = client.post(
                url,
                data={"reqtype": "fileupload"},
                files={"fileToUpload": (upload_name, fh, mime)},
            )
        _common.check_response(response, what=what, describe=lambda r: r.text.strip()[:200])
        text = response.text.strip()
        if not text.startswith(schemes) or any(ch.isspace() for ch in text):
            raise _common.ScriptError(f"{what} failed: {text[:200] or 'empty answer'}")
        return text

    return str(_common.with_retries(call, what=what))


def download(url: str, dest: Path) -> int:
    """Stream the result to ``dest`` (no key is sent: the file host is not KIE); return its size."""
    what = "downloading the Kling clip"

    def call() -> int:
        size = 0
        with (
            httpx.Client(timeout=_common.http_timeout(), follow_redirects=True) as client,
            client.stream("GET", url) as response,
        ):
            if not response.is_success:
                response.read()
                _common.check_response(response, what=what, describe=lambda r: r.text[:200])
            with dest.open("wb") as fh:
                for chunk in response.iter_bytes(1 << 16):
                    size += len(chunk)
                    if size > MAX_DOWNLOAD_BYTES:
                        raise _common.ScriptError(f"{what}: larger than {MAX_DOWNLOAD_BYTES} bytes")
                    fh.write(chunk)
        if size == 0:
            raise _common.HTTPFailure(f"{what}: the file is empty", None)
        return size

    return int(_common.with_retries(call, what=what))


def write_marker(path: Path, content: dict[str, Any]) -> None:
    """Replace ``path`` with ``content`` as JSON in one step (synced): a reader sees all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("w") as handle:
        json.dump(content, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


@contextmanager
def uninterrupted() -> Iterator[None]:
    """Hold SIGTERM and SIGINT until the block ends (they are delivered then).

    Around the paid create: a supervisor that dies (or stops the script) while the request is
    out would otherwise leave a task the vendor made and nobody recorded; held, the script reads
    the answer and writes the id down first.
    """
    held = {signal.SIGTERM, signal.SIGINT}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
