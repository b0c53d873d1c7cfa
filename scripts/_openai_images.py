"""OpenAI-compatible image generation (``POST /images/generations``) for ``generate_asset.py``.

Wire facts: shared/reference/external-apis.md section 7. GPT image models always answer
``b64_json`` and refuse a ``response_format`` field, DALL-E and most other servers answer a URL
unless asked for ``b64_json``, so the field is sent only to the models that take it and both kinds
of answer are read. A URL is fetched without the key: it points at another host (a CDN or bucket)
that must never see it. The sizes these models draw (1536x1024, ...) are not the frame's, so the
picture is cover-fitted to the size the pipeline asked for. ``insufficient_quota`` is a 429 that no
wait cures, so it fails at once. The key (``OPENAI_API_KEY``) is optional: a local server needs none.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import io
import os
from typing import Any

import _common
import _images
import httpx
from PIL import Image, UnidentifiedImageError

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-image-1"
DEFAULT_COST_USD = 0.063  # gpt-image-1, medium quality, 1536x1024
# What the GPT image models draw for each aspect ratio the pipeline asks for.
REQUEST_SIZES = {"16:9": "1536x1024", "9:16": "1024x1536", "1:1": "1024x1024"}
WHAT = "OpenAI-compatible image generation"


def takes_response_format(model: str) -> bool:
    """GPT image models refuse the field (they always inline); DALL-E and other servers take it."""
    return not model.lower().startswith(("gpt-image", "chatgpt-image"))


def _error_fields(response: httpx.Response) -> tuple[str, str]:
    """The vendor's message and its type or code (``insufficient_quota`` comes as either)."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return response.text.strip()[:200] or response.reason_phrase, ""
    if isinstance(error, dict):
        message = str(error.get("message") or error.get("code") or response.reason_phrase)
        kinds = " ".join(str(error.get(k) or "") for k in ("type", "code"))
        return message[:300], kinds
    return str(error or response.reason_phrase)[:300], ""


def check(response: httpx.Response, key: str) -> None:
    """Raise HTTPFailure for an error answer, naming the key on 401 and never retrying no quota."""
    if response.is_success:
        return
    message, kinds = _error_fields(response)
    if key:  # a vendor may echo part of a wrong key; none of it goes into our error line
        message = message.replace(key, "***")
    status = response.status_code
    hint, retryable = "", None
    if status == 401:
        hint = " (check OPENAI_API_KEY)"
    elif status == 429 and "insufficient_quota" in kinds:
        hint, retryable = " (out of quota: add credits or change the plan; not retried)", False
    raise _common.HTTPFailure(
        f"{WHAT}: HTTP {status}: {message}{hint}",
        status,
        _retry_after(response),
        retryable=retryable,
    )


def _retry_after(response: httpx.Response) -> float | None:
    """OpenAI sends ``retry-after-ms`` (finer) as well as or instead of ``retry-after``."""
    raw = response.headers.get("retry-after-ms")
    if raw is not None:
        try:
            return max(0.0, float(raw) / 1000)
        except ValueError:
            pass
    return _common.parse_retry_after(response)


def request_body(args: argparse.Namespace, prompt: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": args.model,
        "prompt": prompt,
        "n": 1,
        "size": args.openai_size or REQUEST_SIZES[args.aspect_ratio],
    }
    if args.quality:
        body["quality"] = args.quality
    if takes_response_format(args.model):
        body["response_format"] = "b64_json"
    return body


def _answer(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        raise _common.ScriptError(f"{WHAT}: the answer is not JSON") from None
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items or not isinstance(items[0], dict):
        raise _common.ScriptError(f"{WHAT}: the answer has no image (no data[0])")
    item: dict[str, Any] = items[0]
    return item


def image_bytes(item: dict[str, Any], client: httpx.Client) -> bytes:
    """``b64_json`` decoded, or the ``url`` downloaded (without the key, with retries)."""
    if item.get("b64_json"):
        try:
            return base64.b64decode(str(item["b64_json"]), validate=True)
        except (binascii.Error, ValueError):
            raise _common.ScriptError(f"{WHAT}: b64_json is not valid base64") from None
    url = str(item.get("url") or "")
    if not url.startswith(("https://", "http://")):
        raise _common.ScriptError(f"{WHAT}: the answer carries neither b64_json nor an image URL")

    def fetch() -> bytes:
        response = client.get(url, follow_redirects=True)
        _common.check_response(
            response, what=f"{WHAT}: downloading the image", describe=lambda r: r.reason_phrase
        )
        return response.content

    raw: bytes = _common.with_retries(fetch, what=f"{WHAT}: downloading the image")
    return raw


def decode(raw: bytes) -> Image.Image:
    """The picture, fully decoded; anything that is not an image (HTML, JSON, junk) is an error."""
    try:
        with Image.open(io.BytesIO(raw)) as img:
            img.load()
            return img.convert("RGBA" if _images.has_real_alpha(img) else "RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise _common.ScriptError(f"{WHAT}: the server's answer is not an image: {exc}") from None


def generate(args: argparse.Namespace, prompt: str, size: tuple[int, int]) -> Image.Image:
    """Ask for one image and return it cover-fitted to ``size`` (the frame or the square asset)."""
    base = (args.base_url or "").rstrip("/") or _common.base_url(
        "OPENAI_BASE_URL", DEFAULT_BASE_URL
    )
    key = os.environ.get("OPENAI_API_KEY", "").strip()
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body = request_body(args, prompt)
    with _common.http_client() as client:

        def call() -> httpx.Response:
            response = client.post(f"{base}/images/generations", json=body, headers=headers)
            check(response, key)
            return response

        answer = _answer(_common.with_retries(call, what=WHAT))
        picture = decode(image_bytes(answer, client))
    return picture if picture.size == size else _images.cover_fit(picture, size)
