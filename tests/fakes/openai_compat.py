"""A fake OpenAI-compatible server (chat, images, speech), faithful to reference/external-apis.md §7.

Serves ``/v1/chat/completions``, ``/v1/images/generations`` and ``/v1/audio/speech`` with Bearer auth
and OpenAI's error shape ``{"error": {"message", "type", "param", "code"}}``. The official ``openai``
SDK is pointed at it in ``test_openai_sdk.py``, so what our code sends and parses is what the SDK
sends and parses. Chat answers come from ``FakeOpenAI.answers`` (JSON text, in order) or from
``FakeOpenAI.plan`` (a valid plan); ``replies`` scripts failures (401, 429 with rate-limit headers,
``insufficient_quota``, 5xx, ``finish_reason: "length"``, refusals). ``json_schema=False`` plays a
server without structured outputs; strict schemas are checked like OpenAI checks them. Images follow
each model's rules (``openai_images.py``): ``gpt-image-1`` inlines ``b64_json``, ``dall-e-3`` links a
URL served under ``/files/`` unless asked for ``b64_json``; ``image_as_url`` plays a vendor that
always links, ``image_bytes`` a server whose "image" is something else.
"""

from __future__ import annotations

import base64
import io
import json
import math
import struct
import time
import uuid
import wave
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from tests.fakes.openai_images import IMAGE_SIZES, image_request_problem, picture

API_KEY = "sk-test-openai-compatible"
CHAT_MODELS = frozenset({"gpt-4o-mini", "gpt-4.1-mini", "deepseek-chat", "llama3.1"})
SPEECH_MODELS = frozenset({"gpt-4o-mini-tts", "tts-1", "kokoro"})
SPEECH_FORMATS = frozenset({"mp3", "wav", "opus", "aac", "flac", "pcm"})
WORDS_PER_SECOND = 2.5


@dataclass
class Reply:
    """One scripted answer; unscripted requests get a plain success."""

    status: int = 200
    code: str | None = None  # e.g. "insufficient_quota", "rate_limit_exceeded"
    retry_after_ms: int | None = None
    retry_after: int | None = None
    finish_reason: str = "stop"
    content: str | None = None  # overrides the answer text
    refusal: str | None = None


def strict_schema_problem(schema: Any, where: str = "()") -> str | None:
    """The first way ``schema`` breaks OpenAI's strict-mode rules, in OpenAI's words, or None."""
    if isinstance(schema, list):
        for entry in schema:
            found = strict_schema_problem(entry, where)
            if found:
                return found
        return None
    if not isinstance(schema, dict):
        return None
    if "default" in schema:
        return f"In context={where}, 'default' is not permitted."
    if "oneOf" in schema:
        return f"In context={where}, 'oneOf' is not permitted."
    if schema.get("type") == "object" or "properties" in schema:
        if schema.get("additionalProperties") is not False:
            return (
                f"In context={where}, 'additionalProperties' is required to be supplied "
                "and to be false."
            )
        properties = schema.get("properties", {})
        missing = [name for name in properties if name not in schema.get("required", [])]
        if missing:
            return (
                f"In context={where}, 'required' is required to be supplied and to be an array "
                f"including every key in properties. Missing '{missing[0]}'."
            )
    for key, value in schema.items():
        children = value.values() if key in ("properties", "$defs") else [value]
        for child in children:
            found = strict_schema_problem(child, f"({where}, '{key}')")
            if found:
                return found
    return None


def error(
    status: int, message: str, *, kind: str, code: str | None = None, param: str | None = None
) -> JSONResponse:
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return JSONResponse(body, status_code=status)


def scripted_error(reply: Reply) -> JSONResponse:
    if reply.status == 401:
        response = error(
            401, "Incorrect API key provided.", kind="invalid_request_error", code="invalid_api_key"
        )
    elif reply.status == 429 and reply.code == "insufficient_quota":
        response = error(
            429,
            "You exceeded your current quota, please check your plan and billing details.",
            kind="insufficient_quota",
            code="insufficient_quota",
        )
    elif reply.status == 429:
        response = error(
            429,
            "Rate limit reached for requests per min (RPM): Limit 3, Used 3, Requested 1.",
            kind="requests",
            code=reply.code or "rate_limit_exceeded",
        )
        response.headers["x-ratelimit-limit-requests"] = "3"
        response.headers["x-ratelimit-remaining-requests"] = "0"
        response.headers["x-ratelimit-reset-requests"] = "20s"
    else:
        response = error(
            reply.status,
            "The server had an error while processing your request.",
            kind="server_error",
        )
    if reply.retry_after_ms is not None:
        response.headers["retry-after-ms"] = str(reply.retry_after_ms)
    if reply.retry_after is not None:
        response.headers["retry-after"] = str(reply.retry_after)
    return response


@dataclass
class FakeOpenAI:
    api_key: str | None = API_KEY  # None: a local server that ignores auth
    json_schema: bool = True
    plan: dict[str, Any] | None = None
    answers: list[str] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    usages: list[dict[str, int]] = field(default_factory=list)  # what each chat answer reported
    image_as_url: bool = False  # a vendor that links every image instead of inlining it
    image_bytes: bytes | None = None  # served instead of a picture (a broken server)
    files: dict[str, bytes] = field(default_factory=dict)

    def image_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].endswith("/images/generations")]

    def chat_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].endswith("/chat/completions")]

    def _auth_error(self, request: Request) -> JSONResponse | None:
        if self.api_key is None:
            return None
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return scripted_error(Reply(status=401))
        return None

    async def _record(self, request: Request) -> Any:
        try:
            body = await request.json()
        except ValueError:
            body = None
        self.requests.append(
            {
                "path": request.url.path,
                "body": body,
                "authorization": request.headers.get("authorization"),
                "at": time.monotonic(),
            }
        )
        return body

    def app(self) -> FastAPI:
        api = FastAPI()

        @api.post("/v1/chat/completions")
        async def chat(request: Request) -> Response:
            body = await self._record(request)
            refused = self._auth_error(request)
            if refused is not None:
                return refused
            reply = self.replies.pop(0) if self.replies else Reply()
            if reply.status != 200:
                return scripted_error(reply)
            if not isinstance(body, dict) or not body.get("messages"):
                return error(
                    400,
                    "you must provide a messages parameter",
                    kind="invalid_request_error",
                    param="messages",
                )
            if body.get("model") not in CHAT_MODELS:
                return error(
                    404,
                    f"The model `{body.get('model')}` does not exist or you do not have access to it.",
                    kind="invalid_request_error",
                    code="model_not_found",
                )
            problem = self._format_problem(body)
            if problem is not None:
                return problem
            return JSONResponse(self._chat_answer(body, reply))

        @api.post("/v1/images/generations")
        async def images(request: Request) -> Response:
            body = await self._record(request)
            refused = self._auth_error(request)
            if refused is not None:
                return refused
            reply = self.replies.pop(0) if self.replies else Reply()
            if reply.status != 200:
                return scripted_error(reply)
            problem = image_request_problem(body)
            if problem is not None:
                return problem
            assert isinstance(body, dict)
            png = self.image_bytes or picture(IMAGE_SIZES.get(str(body.get("size")), (1024, 1024)))
            as_url = self.image_as_url or (
                str(body["model"]).startswith("dall-e")
                and body.get("response_format") != "b64_json"
            )
            if as_url:
                name = f"{uuid.uuid4().hex}.png"
                self.files[name] = png
                item: dict[str, Any] = {"url": f"{request.base_url}files/{name}"}
            else:
                item = {"b64_json": base64.b64encode(png).decode("ascii")}
            return JSONResponse(
                {"created": int(time.time()), "data": [item], "usage": {"total_tokens": 100}}
            )

        @api.get("/files/{name}")
        async def file(name: str) -> Response:
            if name not in self.files:
                return Response(status_code=404)
            return Response(self.files[name], media_type="image/png")

        @api.post("/v1/audio/speech")
        async def speech(request: Request) -> Response:
            body = await self._record(request)
            refused = self._auth_error(request)
            if refused is not None:
                return refused
            reply = self.replies.pop(0) if self.replies else Reply()
            if reply.status != 200:
                return scripted_error(reply)
            if not isinstance(body, dict) or body.get("model") not in SPEECH_MODELS:
                return error(400, "Invalid model.", kind="invalid_request_error", param="model")
            text = str(body.get("input") or "")
            if not text or len(text) > 4096:
                return error(
                    400,
                    "input must be 1 to 4096 characters",
                    kind="invalid_request_error",
                    param="input",
                )
            fmt = body.get("response_format", "mp3")
            if fmt not in ("wav", "pcm"):
                return error(
                    400,
                    f"this fake serves wav or pcm, not {fmt}",
                    kind="invalid_request_error",
                    param="response_format",
                )
            return Response(speech_wav(text, float(body.get("speed", 1.0))), media_type="audio/wav")

        return api

    def _format_problem(self, body: dict[str, Any]) -> JSONResponse | None:
        fmt = body.get("response_format") or {}
        if fmt.get("type") == "json_schema":
            if not self.json_schema:
                return error(
                    400,
                    "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model.",
                    kind="invalid_request_error",
                    param="response_format",
                )
            spec = fmt.get("json_schema") or {}
            if spec.get("strict"):
                problem = strict_schema_problem(spec.get("schema"))
                if problem:
                    return error(
                        400,
                        f"Invalid schema for response_format '{spec.get('name')}': {problem}",
                        kind="invalid_request_error",
                        param="response_format",
                    )
        if fmt.get("type") == "json_object":
            text = " ".join(str(m.get("content", "")) for m in body["messages"]).lower()
            if "json" not in text:
                return error(
                    400,
                    "'messages' must contain the word 'json' in some form, to use 'response_format' "
                    "of type 'json_object'.",
                    kind="invalid_request_error",
                    param="messages",
                )
        return None

    def _chat_answer(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        if reply.content is not None:
            content = reply.content
        elif self.answers:
            content = self.answers.pop(0)
        else:
            content = json.dumps(self.plan if self.plan is not None else {"ok": True})
        if reply.finish_reason == "length":
            content = content[: len(content) // 2]
        prompt_chars = sum(len(str(m.get("content", ""))) for m in body["messages"])
        prompt_tokens, completion_tokens = prompt_chars // 4 + 7, len(content) // 4 + 1
        self.usages.append({"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens})
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": None if reply.refusal else content,
                        "refusal": reply.refusal,
                    },
                    "finish_reason": reply.finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }


def speech_wav(text: str, speed: float = 1.0, rate: int = 24_000) -> bytes:
    """A voiced-sounding tone as long as ``text`` takes to say at 2.5 words a second."""
    seconds = max(0.5, len(text.split()) / WORDS_PER_SECOND / speed)
    frames = bytearray()
    for n in range(int(seconds * rate)):
        envelope = 0.5 + 0.5 * math.sin(2 * math.pi * 3 * n / rate)
        sample = 0.3 * envelope * math.sin(2 * math.pi * 180 * n / rate)
        frames += struct.pack("<h", int(sample * 32767))
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(bytes(frames))
    return buf.getvalue()
