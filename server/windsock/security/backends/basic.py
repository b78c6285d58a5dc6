"""HTTP basic authentication against the users in the metadata database."""

from __future__ import annotations

import base64
import binascii

from starlette.requests import Request

from windsock.security import credentials
from windsock.security.backends import Identity

CHALLENGE = 'Basic realm="windsock", charset="UTF-8"'
SCHEME = "Basic"


def _decode(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        username, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (username, password) if sep else None


def authenticate(request: Request) -> Identity | None:
    pair = _decode(request.headers.get("authorization", ""))
    if pair is None:
        return None
    address = request.client.host if request.client else ""
    return credentials.verify(*pair, address, via="basic")
