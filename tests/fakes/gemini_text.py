"""A fake of Gemini's text generation (the planner's JSON answers), beside the image fake in ``gemini``.

``POST /{v1,v1beta}/models/{model}:generateContent`` with ``x-goog-api-key``: the ``google-genai``
SDK calls ``/v1`` by default and our client ``/v1beta``; Google serves both. It checks what Google
checks that a client can get wrong (roles other than ``user``/``model``, empty parts, a JSON schema
without the JSON MIME type, both schema fields at once), and answers with thought parts before the
answer when asked, ``MAX_TOKENS`` cut-offs, blocked prompts and Google-shaped errors with
``RetryInfo``. Answers come from ``answers`` (JSON text, in order), else ``plan``.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.fakes.gemini import API_KEY, error

TEXT_MODELS = frozenset({"gemini-2.5-flash", "gemini-2.5-pro", "gemini-3-flash"})
ROLES = frozenset({"user", "model"})


@dataclass
class TextReply:
    status: int = 200
    retry_after: int | None = None  # seconds, in a RetryInfo detail (Google sends no header)
    block_reason: str | None = None
    finish_reason: str = "STOP"
    thoughts: int = 0
    content: str | None = None


@dataclass
class FakeGeminiText:
    api_key: str = API_KEY
    plan: dict[str, Any] | None = None
    answers: list[str] = field(default_factory=list)
    replies: list[TextReply] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> FastAPI:
        api = FastAPI()

        @api.post("/{version}/models/{model}:generateContent")
        async def generate(version: str, model: str, request: Request) -> JSONResponse:
            try:
                body = await request.json()
            except ValueError:
                body = None
            key = request.headers.get("x-goog-api-key")
            self.requests.append(
                {
                    "version": version,
                    "model": model,
                    "api_key": key,
                    "body": body,
                    "at": time.monotonic(),
                }
            )
            if version not in ("v1", "v1beta"):
                return error(404, f"Version {version} is not supported.")
            if key != self.api_key:
                return error(400, "API key not valid. Please pass a valid API key.")
            reply = self.replies.pop(0) if self.replies else TextReply()
            if reply.status != 200:
                details = None
                if reply.retry_after is not None:
                    details = [
                        {
                            "@type": "type.googleapis.com/google.rpc.RetryInfo",
                            "retryDelay": f"{reply.retry_after}s",
                        }
                    ]
                return error(
                    reply.status, "Resource has been exhausted (e.g. check quota).", details
                )
            if model not in TEXT_MODELS:
                return error(
                    404,
                    f"models/{model} is not found for API version {version}, or is not supported "
                    "for generateContent.",
                )
            problem = validate_text(body)
            if problem:
                return error(400, problem)
            return JSONResponse(self._answer(model, reply))

        return api

    def _answer(self, model: str, reply: TextReply) -> dict[str, Any]:
        common: dict[str, Any] = {
            "usageMetadata": {
                "promptTokenCount": 812,
                "candidatesTokenCount": 1430,
                "totalTokenCount": 2242,
            },
            "modelVersion": model,
            "responseId": uuid.uuid4().hex[:22],
        }
        if reply.block_reason:
            return {"promptFeedback": {"blockReason": reply.block_reason}, **common}
        if reply.content is not None:
            text = reply.content
        elif self.answers:
            text = self.answers.pop(0)
        else:
            text = json.dumps(self.plan if self.plan is not None else {"ok": True})
        if reply.finish_reason == "MAX_TOKENS":
            text = text[: len(text) // 2]
        parts: list[dict[str, Any]] = [
            {"text": '{"draft": "thinking about the scenes"}', "thought": True}
            for _ in range(reply.thoughts)
        ]
        parts.append({"text": text})
        candidate = {
            "content": {"role": "model", "parts": parts},
            "finishReason": reply.finish_reason,
            "index": 0,
        }
        return {"candidates": [candidate], **common}


def validate_text(body: Any) -> str | None:
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("contents"), list)
        or not body["contents"]
    ):
        return "* GenerateContentRequest.contents: contents is not specified"
    for index, content in enumerate(body["contents"]):
        role = content.get("role", "user") if isinstance(content, dict) else None
        if role not in ROLES:
            return f"Please use a valid role: user, model. (contents[{index}].role = {role!r})"
        parts = content.get("parts")
        if (
            not isinstance(parts, list)
            or not parts
            or not all(isinstance(p, dict) and p for p in parts)
        ):
            return f"* GenerateContentRequest.contents[{index}].parts: contents.parts must not be empty."
    config = body.get("generationConfig") or {}
    if "responseModalities" in config and "TEXT" not in config["responseModalities"]:
        return "This model only supports text output."
    schema_fields = {"responseSchema", "responseJsonSchema"} & set(config)
    if len(schema_fields) == 2:
        return "responseSchema and responseJsonSchema cannot both be set."
    if schema_fields and config.get("responseMimeType") != "application/json":
        return "responseMimeType must be application/json when a response schema is set."
    return None
