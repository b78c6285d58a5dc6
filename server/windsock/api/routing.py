"""ASGI middleware that answers 404 for request paths holding a line feed.

connexion's router mounts the API under its base path with a pattern whose `.*` stops at a line
feed, so such a path (`/api/v1/pools/a%0Ab`) finds no operation there, yet Flask's router still
matches it and the view then fails outside connexion's operation context with a 500. No route
holds a line feed, so the answer is the 404 of any other unknown path.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from windsock.api.problems import NotFound


class LineFeedPaths:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "\n" in scope.get("path", ""):
            raise NotFound("No resource has a line feed in its path.")
        await self.app(scope, receive, send)
