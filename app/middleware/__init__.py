"""ASGI middleware that guards every request before any route sees it."""
