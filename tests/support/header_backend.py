"""A custom authentication backend, loaded by its dotted path in the backend-order tests: it
trusts an `X-Test-User` header, as a backend behind an authenticating proxy might."""

from __future__ import annotations

from starlette.requests import Request

from windsock.security.backends import Identity
from windsock.security.identities import active_user

CHALLENGE = 'Proxy realm="tests"'


def authenticate(request: Request) -> Identity | None:
    username = request.headers.get("x-test-user")
    return active_user(username, via="header") if username else None
