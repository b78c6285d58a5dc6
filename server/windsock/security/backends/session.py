"""Cookie sessions from POST /auth/login, with CSRF protection for unsafe methods.

A request that changes something (anything but GET, HEAD, OPTIONS) with a session cookie must
also send the session's CSRF token in the `X-CSRF-Token` header, or it is refused with 403: a
cookie alone can be sent by any web page the user visits, the header cannot.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request

from windsock.security import sessions
from windsock.security.backends import Identity, Refused

CHALLENGE = None  # a browser login form, not an HTTP challenge
SCHEME = "Cookie"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def authenticate(request: Request) -> Identity | None:
    secret = request.cookies.get(sessions.COOKIE)
    if not secret:
        return None
    live = sessions.find(secret)
    if live is None:
        return None
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(sessions.CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), live.csrf_token.encode()):
            raise Refused(403, f"A session-authenticated {request.method} needs the session's "
                               f"CSRF token in the {sessions.CSRF_HEADER} header.")
    return live.identity
