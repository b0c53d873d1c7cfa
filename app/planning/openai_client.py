"""OpenAI-compatible chat completions (OpenAI, OpenRouter, DeepSeek, Groq, Ollama, vLLM) for the planner.

One wire format served by many vendors, so the differences that matter are handled here rather than
per vendor: structured output is asked for as strict ``json_schema`` and, when a server says it does
not support that, as ``json_object`` for the rest of this client's life; ``insufficient_quota`` (a
429 that no wait will cure) fails at once while other 429s and 5xx are retried, honouring
``retry-after-ms`` / ``retry-after`` when the server sends them. The API key is optional because a
local server needs none; it is only ever sent in the ``Authorization`` header, never in a message.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx

from app.core.time import Backoff
from app.planning.llm_http import MAX_RETRY_WAIT_S, LlmHttpClient

RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})


class ChatError(Exception):
    """A failed call; ``retryable`` is False when waiting would not help (bad key, no quota)."""

    def __init__(
        self, message: str, *, status: int | None, code: str | None, retryable: bool
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.retryable = retryable


@dataclass(frozen=True)
class ChatAnswer:
    content: str | None
    finish_reason: str | None
    refusal: str | None
    prompt_tokens: int
    completion_tokens: int
    model: str | None


def _error_fields(response: httpx.Response) -> tuple[str, str | None, str | None, str | None]:
    """(message, type, code, param) of an OpenAI-style error body; tolerant of other shapes."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase, None, None, None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return (
            str(error.get("message") or response.reason_phrase)[:500],
            error.get("type") if isinstance(error.get("type"), str) else None,
            error.get("code") if isinstance(error.get("code"), str) else None,
            error.get("param") if isinstance(error.get("param"), str) else None,
        )
    if isinstance(error, str):  # Ollama and some proxies: {"error": "message"}
        return error[:500], None, None, None
    return str(body)[:200], None, None, None


def _retry_wait(response: httpx.Response | None, attempt: int, backoff: Backoff) -> float:
    if response is not None:
        for header, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
            raw = response.headers.get(header)
            try:
                wait = float(raw) * scale if raw is not None else None
            except ValueError:
                wait = None
            if wait is not None and 0 <= wait <= MAX_RETRY_WAIT_S:
                return wait
    return backoff.delay(attempt + 1)


def _schema_unsupported(status: int, message: str, param: str | None) -> bool:
    """Whether a refusal is about ``response_format`` itself (so ``json_object`` may work)."""
    if status not in (400, 422):
        return False
    text = f"{param or ''} {message}".lower()
    return "response_format" in text or "json_schema" in text


class OpenAIChatClient(LlmHttpClient):
    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        timeout: float = 180.0,
        attempts: int = 4,
        retry_base_s: float = 1.0,
    ) -> None:
        super().__init__(
            base_url=base_url,
            headers={"Authorization": f"Bearer {api_key}"} if api_key else {},
            timeout=timeout,
            attempts=attempts,
            retry_base_s=retry_base_s,
        )
        self.json_schema_supported = True

    def _body(
        self,
        model: str,
        messages: list[dict[str, str]],
        schema: tuple[str, dict[str, Any]],
        max_tokens: tuple[str, int],
        temperature: float | None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"model": model, "messages": messages, max_tokens[0]: max_tokens[1]}
        if temperature is not None:
            body["temperature"] = temperature
        if self.json_schema_supported:
            name, json_schema = schema
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": name, "schema": json_schema, "strict": True},
            }
        else:
            body["response_format"] = {"type": "json_object"}
        return body

    async def _post(self, body: dict[str, Any]) -> httpx.Response:
        """One request with retries for transient failures; returns the final response."""
        response: httpx.Response | None = None
        for attempt in range(self._backoff.attempts):
            last = attempt == self._backoff.attempts - 1
            try:
                response = await self._client.post("/chat/completions", json=body)
            except httpx.TransportError as exc:
                if last:
                    raise ChatError(
                        f"chat completions unreachable: {type(exc).__name__}",
                        status=None,
                        code=None,
                        retryable=True,
                    ) from None
                await asyncio.sleep(_retry_wait(None, attempt, self._backoff))
                continue
            if response.status_code not in RETRYABLE_STATUSES or last:
                return response
            _message, kind, code, _param = _error_fields(response)
            if "insufficient_quota" in (kind, code):
                return response
            await asyncio.sleep(_retry_wait(response, attempt, self._backoff))
        assert response is not None
        return response

    async def complete(
        self,
        *,
        model: str,
        messages: list[dict[str, str]],
        schema: tuple[str, dict[str, Any]],
        max_tokens: tuple[str, int] = ("max_completion_tokens", 16_000),
        temperature: float | None = None,
    ) -> ChatAnswer:
        """One chat completion asked for JSON matching ``schema`` (name, JSON Schema)."""
        response = await self._post(self._body(model, messages, schema, max_tokens, temperature))
        if not response.is_success and self.json_schema_supported:
            message, _kind, _code, param = _error_fields(response)
            if _schema_unsupported(response.status_code, message, param):
                self.json_schema_supported = False
                response = await self._post(
                    self._body(model, messages, schema, max_tokens, temperature)
                )
        if not response.is_success:
            message, kind, code, _param = _error_fields(response)
            quota = "insufficient_quota" in (kind, code)
            status = response.status_code
            hint = ""
            if status == 401:
                hint = " (check OPENAI_API_KEY or the channel's openai credential)"
            elif quota:
                hint = " (the account is out of credit: add credit or change plan; not retried)"
            raise ChatError(
                f"chat completions HTTP {status}: {message}{hint}",
                status=status,
                code=code or kind,
                retryable=status in RETRYABLE_STATUSES and not quota,
            )
        return _answer(response)


def _answer(response: httpx.Response) -> ChatAnswer:
    try:
        data = response.json()
        choice = data["choices"][0]
        message = choice.get("message") or {}
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        raise ChatError(
            "chat completions answered without a choice", status=200, code=None, retryable=True
        ) from None
    usage = data.get("usage") or {}
    return ChatAnswer(
        content=message.get("content") if isinstance(message.get("content"), str) else None,
        finish_reason=choice.get("finish_reason"),
        refusal=message.get("refusal") if isinstance(message.get("refusal"), str) else None,
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        model=data.get("model") if isinstance(data.get("model"), str) else None,
    )
