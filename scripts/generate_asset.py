#!/usr/bin/env python3
"""Generate one image asset (a character, an environment or a prop) from a text prompt.

Providers: ``gemini`` (Google's generateContent with image output; reference images keep a
character consistent across scenes), ``openai`` (any OpenAI-compatible ``/images/generations``:
OpenAI, OpenRouter, a local server; that endpoint takes no reference images) and ``local``
(offline: a procedural Pillow drawing, the same picture for the same prompt, so a whole pipeline
can run without any paid service).
The last stdout line is the JSON result; errors are one ``❌`` line on stderr with exit 1.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import io
import re
from pathlib import Path
from typing import Any

import _common
import _images
import _openai_images
import httpx
from PIL import Image, UnidentifiedImageError

GEMINI_BASE_URL = "https://generativelanguage.googleapis.com"
DEFAULT_MODEL = "gemini-3.1-flash-image"
DEFAULT_COST_USD = 0.039
ASPECT_SIZES: dict[str, tuple[int, int]] = {
    "16:9": (1920, 1080),
    "9:16": (1080, 1920),
    "1:1": (1024, 1024),
}
# Large references are shrunk before upload: Gemini caps inline request data at 20 MB and does
# not need more than this to keep a character's look.
MAX_REFERENCE_SIDE = 2048
# Asked of Gemini for figures so create_composite can key the backdrop out cleanly.
KIND_HINTS = {
    "character": "Full body, centred, on a plain uniform light background, no scenery.",
    "prop": "A single object, centred, on a plain uniform light background, no scenery.",
}
OPENAI_SIZES = frozenset(
    {"1024x1024", "1536x1024", "1024x1536", "1792x1024", "1024x1792", "512x512", "256x256"}
)
MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def model_name(value: str) -> str:
    """argparse type: the model goes into the URL path, so only plain names are accepted."""
    if not MODEL_NAME.match(value):
        raise argparse.ArgumentTypeError(f"not a model name: {value!r}")
    return value


def non_negative(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {value!r}")
    return number


def build_parser() -> argparse.ArgumentParser:
    p = _common.parser(__doc__.splitlines()[0] if __doc__ else "Generate an image asset.")
    p.add_argument("--prompt", required=True, help="what to draw")
    p.add_argument("--output", required=True, type=Path, help="PNG file to write")
    p.add_argument(
        "--provider",
        choices=("gemini", "openai", "local"),
        default="local",
        help="default: local (offline)",
    )
    p.add_argument(
        "--reference-image",
        action="append",
        type=Path,
        default=[],
        metavar="PNG",
        help="image the result must stay consistent with (repeatable; sent to Gemini)",
    )
    p.add_argument("--aspect-ratio", choices=tuple(ASPECT_SIZES), default="16:9")
    p.add_argument(
        "--kind",
        choices=("character", "environment", "prop"),
        default=None,
        help="local: what to draw (default environment); gemini, openai: a plain-backdrop hint for figures",
    )
    p.add_argument(
        "--model",
        type=model_name,
        default=None,
        help=f"gemini: default {DEFAULT_MODEL}; openai: default {_openai_images.DEFAULT_MODEL}",
    )
    p.add_argument(
        "--image-size", choices=("1K", "2K"), default="1K", help="Gemini output resolution"
    )
    p.add_argument(
        "--cost-usd",
        type=non_negative,
        default=None,
        help=f"price of one image, reported in the result (default gemini {DEFAULT_COST_USD}, "
        f"openai {_openai_images.DEFAULT_COST_USD})",
    )
    p.add_argument(
        "--openai-size",
        choices=("auto", *sorted(OPENAI_SIZES)),
        default=None,
        help="openai: the size asked of the server (default from --aspect-ratio: "
        "1536x1024, 1024x1536, 1024x1024); the result is fitted to --size",
    )
    p.add_argument(
        "--quality",
        choices=("auto", "low", "medium", "high", "standard", "hd"),
        default=None,
        help="openai: low/medium/high/auto for GPT image models, standard/hd for DALL-E 3",
    )
    p.add_argument(
        "--base-url",
        default=None,
        help="openai: the server (default OPENAI_BASE_URL, ending in /v1)",
    )
    p.add_argument(
        "--size",
        type=_common.parse_size,
        default=None,
        metavar="WxH",
        help="local, openai: pixel size (default from --aspect-ratio: 1920x1080, 1080x1920, 1024x1024)",
    )
    p.add_argument(
        "--label",
        action="store_true",
        help="local only: burn the prompt into the picture (debugging; never in a video)",
    )
    return p


# ---------------------------------------------------------------- reference images


def reference_part(path: Path) -> dict[str, Any]:
    """Read a reference image as an inlineData part; PNG bytes go as they are, the rest is re-encoded."""
    img = _images.load_image(path, "reference image")
    if img.format == "PNG" and max(img.size) <= MAX_REFERENCE_SIDE:
        data = path.read_bytes()
    else:
        img.thumbnail((MAX_REFERENCE_SIDE, MAX_REFERENCE_SIDE), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        img.convert("RGBA" if _images.has_real_alpha(img) else "RGB").save(buf, format="PNG")
        data = buf.getvalue()
    return {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(data).decode("ascii")}}


# ---------------------------------------------------------------- Gemini


def describe_gemini_error(response: httpx.Response) -> str:
    """Google's own words; a bad key comes back as a 400, so name it like the 401 hint does."""
    try:
        error = response.json().get("error", {})
        message, status = error.get("message"), error.get("status")
        reasons = {d.get("reason") for d in error.get("details", []) if isinstance(d, dict)}
    except (ValueError, AttributeError, TypeError):
        return response.text.strip()[:200] or response.reason_phrase
    text = " ".join(str(p) for p in (status, message) if p) or response.reason_phrase
    return f"{text} (check GEMINI_API_KEY)" if "API_KEY_INVALID" in reasons else text


def retry_delay(response: httpx.Response) -> float | None:
    """Google puts the wait in a RetryInfo detail (``"retryDelay": "37s"``) rather than a header."""
    try:
        details = response.json().get("error", {}).get("details", [])
        for detail in details:
            if str(detail.get("@type", "")).endswith("RetryInfo"):
                return max(0.0, float(str(detail.get("retryDelay", "")).rstrip("s")))
    except (ValueError, AttributeError, TypeError):
        return None
    return None


def prompt_text(prompt: str, kind: str | None) -> str:
    return f"{prompt}\n\n{KIND_HINTS[kind]}" if kind in KIND_HINTS else prompt


def request_body(
    prompt: str, kind: str | None, aspect: str, image_size: str, refs: list[dict[str, Any]]
) -> dict[str, Any]:
    text = prompt_text(prompt, kind)
    return {
        "contents": [{"role": "user", "parts": [{"text": text}, *refs]}],
        "generationConfig": {
            "responseModalities": ["IMAGE"],
            "imageConfig": {"aspectRatio": aspect, "imageSize": image_size},
        },
    }


def call_gemini(url: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST with retries on 429/5xx/timeouts; 400/401/403/404 fail at once with Google's message."""
    what = "Gemini image generation"
    with _common.http_client() as client:

        def attempt() -> dict[str, Any]:
            response = client.post(url, json=body, headers={"x-goog-api-key": key})
            try:
                _common.check_response(response, what=what, describe=describe_gemini_error)
            except _common.HTTPFailure as exc:
                if exc.retry_after is None:
                    exc.retry_after = retry_delay(response)
                raise
            try:
                data = response.json()
            except ValueError:
                raise _common.ScriptError(f"{what}: the answer is not JSON") from None
            if not isinstance(data, dict):
                raise _common.ScriptError(f"{what}: unexpected answer shape")
            return data

        result: dict[str, Any] = _common.with_retries(attempt, what=what)
        return result


def pick_image(data: dict[str, Any]) -> bytes:
    """The last non-thought image part; a blocked prompt or a refusal becomes a clear error."""
    candidates = data.get("candidates") or []
    if not candidates:
        feedback = data.get("promptFeedback") or {}
        reason = feedback.get("blockReason")
        if reason:
            extra = feedback.get("blockReasonMessage")
            raise _common.ScriptError(
                f"Gemini blocked the prompt: {reason}" + (f" ({extra})" if extra else "")
            )
        raise _common.ScriptError("Gemini returned no candidates and no block reason")
    candidate = candidates[0]
    parts = (candidate.get("content") or {}).get("parts") or []
    images = [
        part.get("inlineData") or part.get("inline_data")
        for part in parts
        if (part.get("inlineData") or part.get("inline_data")) and not part.get("thought")
    ]
    images = [
        img
        for img in images
        if str(img.get("mimeType") or img.get("mime_type") or "").startswith("image/")
    ]
    if not images:
        reason = candidate.get("finishReason") or "unknown"
        said = " ".join(
            p["text"] for p in parts if isinstance(p.get("text"), str) and not p.get("thought")
        )
        message = candidate.get("finishMessage") or said
        raise _common.ScriptError(
            f"Gemini returned no image (finishReason {reason})"
            + (f": {message[:200]}" if message else "")
        )
    try:
        return base64.b64decode(images[-1].get("data") or "", validate=True)
    except (binascii.Error, ValueError):
        raise _common.ScriptError("Gemini's image data is not valid base64") from None


def write_image(raw: bytes, output: Path) -> Image.Image:
    """Keep PNG bytes as they came; convert anything else (JPEG, WebP) to PNG."""
    try:
        with Image.open(io.BytesIO(raw)) as img:
            img.load()
            fmt = img.format
            converted = img.convert("RGBA" if _images.has_real_alpha(img) else "RGB")
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise _common.ScriptError(f"Gemini's image cannot be decoded: {exc}") from None
    if fmt == "PNG":
        _images.write_bytes_atomic(raw, output)
    else:
        _images.save_png(converted, output)
    return converted


def run_gemini(args: argparse.Namespace, refs: list[dict[str, Any]]) -> None:
    key = _common.require_env("GEMINI_API_KEY", "gemini")
    model = args.model or DEFAULT_MODEL
    url = f"{_common.base_url('GEMINI_BASE_URL', GEMINI_BASE_URL)}/v1beta/models/{model}:generateContent"
    body = request_body(args.prompt, args.kind, args.aspect_ratio, args.image_size, refs)
    data = call_gemini(url, key, body)
    img = write_image(pick_image(data), args.output)
    response_id = data.get("responseId")
    _common.emit_result(
        outputs={"image": str(args.output)},
        provider="gemini",
        model=str(data.get("modelVersion") or model),
        cost_usd=DEFAULT_COST_USD if args.cost_usd is None else args.cost_usd,
        remote_ids={"response_id": str(response_id)} if response_id else {},
        width=img.width,
        height=img.height,
        reference_images=len(refs),
    )


# ---------------------------------------------------------------- OpenAI-compatible


def run_openai(args: argparse.Namespace) -> None:
    args.model = args.model or _openai_images.DEFAULT_MODEL
    size = args.size or ASPECT_SIZES[args.aspect_ratio]
    img = _openai_images.generate(args, prompt_text(args.prompt, args.kind), size)
    _images.save_png(img, args.output)
    cost = _openai_images.DEFAULT_COST_USD if args.cost_usd is None else args.cost_usd
    _common.emit_result(
        outputs={"image": str(args.output)},
        provider="openai",
        model=args.model,
        cost_usd=cost,
        width=img.width,
        height=img.height,
    )


# ---------------------------------------------------------------- local


def run_local(args: argparse.Namespace) -> None:
    import _procedural

    size = args.size or ASPECT_SIZES[args.aspect_ratio]
    kind = args.kind or "environment"
    img = _procedural.render(args.prompt, kind, size, label=args.label)
    _images.save_png(img, args.output)
    scene: dict[str, object] = {}
    if kind == "environment":
        spec = _procedural.describe(args.prompt)
        scene = {"scene_kind": spec.kind, "time": spec.time, "weather": spec.weather,
                 "things": list(spec.things), "subject_side": spec.side}  # fmt: skip
    _common.emit_result(
        outputs={"image": str(args.output)},
        provider="local",
        model="procedural",
        cost_usd=0.0,
        width=img.width,
        height=img.height,
        kind=kind,
        **scene,
    )


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.prompt.strip():
        parser.error("--prompt must not be empty")
    if args.provider == "gemini":
        run_gemini(args, [reference_part(path) for path in args.reference_image])
        return
    for path in args.reference_image:  # not sent, but a bad path is still an error
        _images.load_image(path, "reference image")
    if args.provider == "openai":
        run_openai(args)
    else:
        run_local(args)


if __name__ == "__main__":
    _common.run_main(main)
