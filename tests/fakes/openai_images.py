"""What the OpenAI-compatible fake's ``/v1/images/generations`` accepts and draws.

Kept apart from the server so each stays readable. The rules are OpenAI's (images API reference):
GPT image models always answer ``b64_json`` and refuse a ``response_format``; DALL-E answers a URL
unless asked for ``b64_json``; each model takes its own sizes and qualities, and anything else is a
400 in OpenAI's error shape.
"""

from __future__ import annotations

import io
import math
from typing import Any

from fastapi.responses import JSONResponse
from PIL import Image, ImageDraw

IMAGE_QUALITIES = {
    "gpt-image-1": frozenset({"auto", "low", "medium", "high"}),
    "dall-e-3": frozenset({"standard", "hd"}),
}
IMAGE_SIZES = {
    "1024x1024": (1024, 1024),
    "1536x1024": (1536, 1024),
    "1024x1536": (1024, 1536),
    "1792x1024": (1792, 1024),
    "1024x1792": (1024, 1792),
}
MODEL_SIZES = {
    "gpt-image-1": frozenset({"1024x1024", "1536x1024", "1024x1536", "auto"}),
    "dall-e-3": frozenset({"1024x1024", "1792x1024", "1024x1792"}),
}


def _bad(message: str, param: str, code: str | None = None) -> JSONResponse:
    body = {
        "error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    }
    return JSONResponse(body, status_code=400)


def image_request_problem(body: Any) -> JSONResponse | None:
    """The 400 OpenAI gives for an image request its model does not take, or None."""
    model = body.get("model") if isinstance(body, dict) else None
    if not isinstance(body, dict) or model not in IMAGE_QUALITIES:
        return _bad("Invalid model.", "model")
    if not str(body.get("prompt") or "").strip():
        return _bad("prompt is required.", "prompt")
    if body.get("n", 1) != 1:
        return _bad("this fake makes one image at a time (n=1).", "n")
    if "response_format" in body and str(model).startswith("gpt-image"):
        return _bad("Unknown parameter: 'response_format'.", "response_format", "unknown_parameter")
    if body.get("response_format", "b64_json") not in ("b64_json", "url"):
        return _bad("Invalid response_format.", "response_format")
    size = str(body.get("size", "1024x1024"))
    if size not in MODEL_SIZES[model]:
        sizes = ", ".join(sorted(MODEL_SIZES[model]))
        return _bad(f"Invalid size '{size}'. Supported sizes are {sizes}.", "size")
    if "quality" in body and body["quality"] not in IMAGE_QUALITIES[model]:
        return _bad(f"Invalid quality '{body['quality']}' for {model}.", "quality")
    return None


def picture(size: tuple[int, int]) -> bytes:
    """A small landscape (sky, sun, hills) as PNG: a real picture, never a flat fill, so a resize
    or crop that went wrong shows in the result."""
    width, height = size
    img = Image.new("RGB", size)
    draw = ImageDraw.Draw(img)
    for y in range(height):
        t = y / height
        draw.line(
            [(0, y), (width, y)], fill=(int(40 + 120 * t), int(90 + 100 * t), int(200 - 40 * t))
        )
    r = height // 8
    cx, cy = width * 0.7, height * 0.25
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(250, 210, 90))
    for i, colour in enumerate([(60, 120, 60), (40, 95, 45)]):
        top = height * (0.6 + 0.12 * i)
        ridge = [
            (x, top + height * 0.06 * math.sin(x / width * math.pi * (3 + i)))
            for x in range(0, width + 1, 16)
        ]
        draw.polygon([(0, height), *ridge, (width, height)], fill=colour)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
