"""Pydantic schemas: the production plan, API request/response bodies and the envelope."""
