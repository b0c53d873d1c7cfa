"""A fake of Gemini's image generation endpoint, faithful to reference/external-apis.md §5.

``POST /v1beta/models/{model}:generateContent`` with ``x-goog-api-key``; errors in Google's shape
``{"error": {"code", "message", "status", "details"}}``. Tests script the next answers with
``FakeGemini.replies`` (429 with Retry-After/RetryInfo, 5xx, slow, blocked, refused, thoughts
before the final image, JPEG) and read ``FakeGemini.requests`` to see what arrived.
"""

from __future__ import annotations

import asyncio
import base64
import io
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from PIL import Image, ImageDraw

API_KEY = "test-gemini-key"
MODELS = frozenset({"gemini-3.1-flash-image", "gemini-3-pro-image", "gemini-3.1-flash-lite-image"})
ASPECT_RATIOS = frozenset({"1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"})
IMAGE_SIZES = frozenset({"1K", "2K", "4K"})
# Gemini 3 image models' 1K sizes; 2K and 4K double and quadruple them.
BASE_SIZES = {"1:1": (1024, 1024), "16:9": (1376, 768), "9:16": (768, 1376)}
FINAL_COLOUR = (20, 160, 90)
DRAFT_COLOUR = (220, 40, 40)
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


@dataclass
class Reply:
    """One scripted answer; unscripted requests get a plain success."""

    status: int = 200
    retry_after: int | None = None  # seconds, sent as a Retry-After header and a RetryInfo detail
    retry_info_only: bool = False  # like Google: the delay only in the body, no header
    delay: float = 0.0  # seconds before answering (timeouts)
    block_reason: str | None = None  # e.g. "PROHIBITED_CONTENT": no candidates
    finish_reason: str | None = None  # e.g. "IMAGE_SAFETY": a candidate without an image
    thoughts: int = 0  # draft image parts marked "thought": true before the final one
    mime_type: str = "image/png"


@dataclass
class FakeGemini:
    api_key: str = API_KEY
    replies: list[Reply] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)

    @property
    def calls(self) -> int:
        return len(self.requests)

    def reference_images(self, index: int = -1) -> list[bytes]:
        """The decoded inlineData parts of a received request (the reference images)."""
        parts = self.requests[index]["body"]["contents"][0]["parts"]
        return [base64.b64decode(p["inlineData"]["data"]) for p in parts if "inlineData" in p]

    def app(self) -> FastAPI:
        api = FastAPI()

        @api.post("/v1beta/models/{model}:generateContent")
        async def generate(model: str, request: Request) -> JSONResponse:
            raw = await request.body()
            try:
                body = await request.json()
            except ValueError:
                body = None
            key = request.headers.get("x-goog-api-key")
            self.requests.append(
                {"model": model, "api_key": key, "body": body, "raw": raw, "at": time.monotonic()}
            )
            reply = self.replies.pop(0) if self.replies else Reply()
            if reply.delay:
                await _sleep_unless_gone(request, reply.delay)
            if key is None:
                return error(
                    403,
                    "Method doesn't allow unregistered callers (callers without established identity). "
                    "Please use API Key or other form of API consumer identity to call this API.",
                )
            if key != self.api_key:
                return error(
                    400,
                    "API key not valid. Please pass a valid API key.",
                    details=[
                        {
                            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                            "reason": "API_KEY_INVALID",
                            "domain": "googleapis.com",
                        }
                    ],
                )
            if reply.status != 200:
                return scripted_error(reply)
            if model not in MODELS:
                return error(
                    404,
                    f"models/{model} is not found for API version v1beta, or is not supported "
                    "for generateContent. Call ListModels to see the list of available models.",
                )
            problem = validate(body)
            if problem:
                return error(400, problem)
            return JSONResponse(answer(model, body, reply))

        return api


async def _sleep_unless_gone(request: Request, seconds: float) -> None:
    """Stall like an overloaded backend, but stop early once the client hung up."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await request.is_disconnected():
            return
        await asyncio.sleep(0.05)


def error(code: int, message: str, details: list[dict[str, Any]] | None = None) -> JSONResponse:
    payload: dict[str, Any] = {
        "code": code,
        "message": message,
        "status": STATUS_NAMES.get(code, "UNKNOWN"),
    }
    if details:
        payload["details"] = details
    return JSONResponse({"error": payload}, status_code=code)


def scripted_error(reply: Reply) -> JSONResponse:
    messages = {
        401: "Request had invalid authentication credentials.",
        429: "Resource has been exhausted (e.g. check quota).",
        500: "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
        503: "The model is overloaded. Please try again later.",
    }
    details = None
    if reply.retry_after is not None:
        details = [
            {
                "@type": "type.googleapis.com/google.rpc.RetryInfo",
                "retryDelay": f"{reply.retry_after}s",
            }
        ]
    response = error(reply.status, messages.get(reply.status, "Error."), details)
    if reply.retry_after is not None and not reply.retry_info_only:
        response.headers["Retry-After"] = str(reply.retry_after)
    return response


def validate(body: Any) -> str | None:
    """The checks Google makes that a client can get wrong; the message mimics Google's."""
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("contents"), list)
        or not body["contents"]
    ):
        return "* GenerateContentRequest.contents: contents is not specified"
    for content in body["contents"]:
        parts = content.get("parts") if isinstance(content, dict) else None
        if not isinstance(parts, list) or not parts:
            return "* GenerateContentRequest.contents.parts: contents.parts must not be empty."
        for part in parts:
            if "inlineData" in part:
                try:
                    base64.b64decode(part["inlineData"]["data"], validate=True)
                except (KeyError, ValueError, TypeError):
                    return "Invalid value at 'contents[0].parts[1].inline_data.data' (TYPE_BYTES)"
    config = body.get("generationConfig") or {}
    modalities = config.get("responseModalities") or []
    if "IMAGE" not in modalities:
        return (
            "This model only supports text and image output; responseModalities must include IMAGE."
        )
    image = config.get("imageConfig") or {}
    if image.get("aspectRatio", "1:1") not in ASPECT_RATIOS:
        return f"Invalid aspect ratio: {image.get('aspectRatio')}"
    if image.get("imageSize", "1K") not in IMAGE_SIZES:
        return f"Invalid image size: {image.get('imageSize')} (use 1K, 2K or 4K with a capital K)"
    return None


def picture(size: tuple[int, int], colour: tuple[int, int, int], mime_type: str) -> str:
    img = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(img)
    w, h = size
    draw.ellipse((w * 0.35, h * 0.3, w * 0.65, h * 0.7), fill=(240, 240, 240))
    buf = io.BytesIO()
    img.save(buf, format="JPEG" if mime_type == "image/jpeg" else "PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def answer(model: str, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    common: dict[str, Any] = {
        "usageMetadata": {
            "promptTokenCount": 12,
            "candidatesTokenCount": 1290,
            "totalTokenCount": 1302,
        },
        "modelVersion": model,
        "responseId": uuid.uuid4().hex[:22],
    }
    if reply.block_reason:
        return {"promptFeedback": {"blockReason": reply.block_reason}, **common}
    if reply.finish_reason:
        refusal = {"text": "I can't create that image."}
        return {
            "candidates": [
                {
                    "content": {"role": "model", "parts": [refusal]},
                    "finishReason": reply.finish_reason,
                    "index": 0,
                }
            ],
            **common,
        }
    image = body.get("generationConfig", {}).get("imageConfig", {})
    base = BASE_SIZES.get(image.get("aspectRatio", "1:1"), (1024, 1024))
    factor = {"1K": 1, "2K": 2, "4K": 4}[image.get("imageSize", "1K")]
    size = (base[0] * factor, base[1] * factor)
    parts: list[dict[str, Any]] = []
    for _ in range(reply.thoughts):
        parts.append({"text": "Sketching the composition first.", "thought": True})
        draft = picture((size[0] // 4, size[1] // 4), DRAFT_COLOUR, "image/png")
        parts.append({"inlineData": {"mimeType": "image/png", "data": draft}, "thought": True})
    parts.append(
        {
            "inlineData": {
                "mimeType": reply.mime_type,
                "data": picture(size, FINAL_COLOUR, reply.mime_type),
            },
            "thoughtSignature": base64.b64encode(b"signature").decode("ascii"),
        }
    )
    return {
        "candidates": [
            {"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}
        ],
        **common,
    }
