"""Gemini text generation (JSON mode) for the planner."""

from __future__ import annotations

import json
from types import TracebackType
from typing import Any

import httpx
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from app.core.config import get_settings


class GeminiError(Exception):
    def __init__(self, message: str, status: int | None) -> None:
        super().__init__(message)
        self.status = status


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, GeminiError):
        return exc.status is None or exc.status == 429 or exc.status >= 500
    return isinstance(exc, httpx.TransportError)


class GeminiTextClient:
    def __init__(
        self, *, api_key: str, base_url: str | None = None, timeout: float = 120.0
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=(base_url or get_settings().gemini_base_url).rstrip("/"),
            headers={"x-goog-api-key": api_key},
            timeout=httpx.Timeout(timeout, connect=10.0),
        )

    async def __aenter__(self) -> GeminiTextClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._client.aclose()

    async def _once(self, model: str, prompt: str) -> Any:
        response = await self._client.post(
            f"/v1beta/models/{model}:generateContent",
            json={
                "contents": [{"role": "user", "parts": [{"text": prompt}]}],
                "generationConfig": {"responseMimeType": "application/json"},
            },
        )
        if not response.is_success:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text[:200]
            raise GeminiError(
                f"Gemini HTTP {response.status_code}: {message}", response.status_code
            )
        data = response.json()
        parts = data.get("candidates", [{}])[0].get("content", {}).get("parts", [])
        text = "".join(p.get("text", "") for p in parts if not p.get("thought"))
        try:
            return json.loads(text)
        except ValueError:
            return {"_unparsable": text[:2000]}

    async def generate_json(self, model: str, prompt: str) -> Any:
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(3),
            wait=wait_exponential(multiplier=1, min=1, max=20),
            retry=retry_if_exception(_retryable),
            reraise=True,
        ):
            with attempt:
                return await self._once(model, prompt)
        raise AssertionError("unreachable")
