"""Gemini text generation (JSON constrained by a schema) for the planner.

Speaks the REST shape the ``google-genai`` SDK speaks (the fake it is tested against is driven by that
SDK too): a conversation in ``contents`` with roles ``user``/``model``, ``responseMimeType`` plus
``responseJsonSchema``. What the SDK would surface as an odd answer is turned into a ``problem`` the
planner's repair round can act on: a blocked prompt (no candidates), an answer cut off at
``MAX_TOKENS``, thought parts (never the answer), text that is not JSON. 429 and 5xx are retried,
waiting as long as Google's ``RetryInfo`` or ``Retry-After`` says when it says.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import httpx

from app.core.config import get_settings
from app.core.time import Backoff
from app.planning.llm_http import MAX_RETRY_WAIT_S, LlmHttpClient


class GeminiError(Exception):
    def __init__(self, message: str, status: int | None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def retryable(self) -> bool:
        return self.status is None or self.status == 429 or self.status >= 500


@dataclass(frozen=True)
class GeminiAnswer:
    text: str | None
    problem: str | None
    input_tokens: int
    output_tokens: int


def _retry_delay(response: httpx.Response | None, attempt: int, backoff: Backoff) -> float:
    """Google's RetryInfo (``"retryDelay": "7s"``) or Retry-After, else exponential backoff."""
    if response is not None:
        raw = response.headers.get("retry-after")
        try:
            details = response.json().get("error", {}).get("details", [])
            for detail in details:
                if str(detail.get("@type", "")).endswith("RetryInfo"):
                    raw = str(detail.get("retryDelay", "")).rstrip("s") or raw
        except (ValueError, AttributeError):
            pass
        try:
            wait = float(raw) if raw is not None else None
        except ValueError:
            wait = None
        if wait is not None and 0 <= wait <= MAX_RETRY_WAIT_S:
            return wait
    return backoff.delay(attempt + 1)


def _answer(data: Any) -> GeminiAnswer:
    usage = data.get("usageMetadata") or {}
    tokens_in = int(usage.get("promptTokenCount") or 0)
    tokens_out = int(usage.get("candidatesTokenCount") or 0) + int(
        usage.get("thoughtsTokenCount") or 0
    )
    candidates = data.get("candidates") or []
    if not candidates:
        reason = (data.get("promptFeedback") or {}).get("blockReason") or "no candidates"
        return GeminiAnswer(None, f"the prompt was blocked ({reason})", tokens_in, tokens_out)
    candidate = candidates[0]
    parts = (candidate.get("content") or {}).get("parts") or []
    text = "".join(p.get("text", "") for p in parts if not p.get("thought"))
    finish = candidate.get("finishReason")
    problem = None
    if finish == "MAX_TOKENS":
        problem = "the answer was cut off at the token limit (MAX_TOKENS): write shorter text"
    elif finish not in (None, "STOP"):
        problem = f"the answer stopped early ({finish})"
    elif not text.strip():
        problem = "the answer had no text"
    else:
        try:
            json.loads(text)
        except ValueError:
            problem = "the answer is not valid JSON"
    return GeminiAnswer(text or None, problem, tokens_in, tokens_out)


class GeminiTextClient(LlmHttpClient):
    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None = None,
        timeout: float = 120.0,
        attempts: int = 3,
    ) -> None:
        settings = get_settings()
        super().__init__(
            base_url=base_url or settings.gemini_base_url,
            headers={"x-goog-api-key": api_key},
            timeout=timeout,
            attempts=attempts,
            retry_base_s=settings.llm_retry_base_s,
        )

    async def _once(self, model: str, body: dict[str, Any]) -> httpx.Response:
        try:
            return await self._client.post(f"/v1beta/models/{model}:generateContent", json=body)
        except httpx.TransportError as exc:
            raise GeminiError(f"Gemini unreachable: {type(exc).__name__}", None) from None

    async def generate_json(
        self, model: str, turns: list[tuple[str, str]], schema: dict[str, Any] | None = None
    ) -> GeminiAnswer:
        """One answer to the conversation ``turns`` ((role, text), role ``user``/``assistant``)."""
        config: dict[str, Any] = {"responseMimeType": "application/json"}
        if schema is not None:
            config["responseJsonSchema"] = schema
        body = {
            "contents": [
                {"role": "model" if role == "assistant" else "user", "parts": [{"text": text}]}
                for role, text in turns
            ],
            "generationConfig": config,
        }
        for attempt in range(self._backoff.attempts):
            last = attempt == self._backoff.attempts - 1
            try:
                response = await self._once(model, body)
            except GeminiError:
                if last:
                    raise
                await asyncio.sleep(_retry_delay(None, attempt, self._backoff))
                continue
            if response.is_success:
                try:
                    return _answer(response.json())
                except (ValueError, AttributeError):
                    return GeminiAnswer(None, "the answer was not JSON at all", 0, 0)
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text[:200]
            error = GeminiError(
                f"Gemini HTTP {response.status_code}: {message}", response.status_code
            )
            if not error.retryable or last:
                raise error
            await asyncio.sleep(_retry_delay(response, attempt, self._backoff))
        raise AssertionError("unreachable")
