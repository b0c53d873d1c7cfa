"""Fixtures of the API tests, reused: the real app in-process against this test's database."""

from __future__ import annotations

from tests.routes.conftest import anon_client, api_app

__all__ = ["anon_client", "api_app"]
