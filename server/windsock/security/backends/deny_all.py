"""Refuses every request: configure it alone to close the API without stopping the server."""

from __future__ import annotations

from starlette.requests import Request

from windsock.security.backends import Identity

CHALLENGE = None


def authenticate(request: Request) -> Identity | None:
    return None
