"""The hostile-input tests reuse the fuzz suite's real app on loopback (one per package)."""

from tests.fuzz.conftest import live_app

__all__ = ["live_app"]
