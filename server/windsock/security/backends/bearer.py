"""Bearer tokens: access tokens from POST /auth/token and personal API tokens (`wsk_...`)."""

from __future__ import annotations

from starlette.requests import Request

from windsock.security import tokens
from windsock.security.backends import Identity

CHALLENGE = 'Bearer realm="windsock"'
SCHEME = "Bearer"


def authenticate(request: Request) -> Identity | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    if token.startswith(tokens.PERSONAL_PREFIX):
        return tokens.personal_token_identity(token)
    return tokens.access_token_identity(token)
