"""The ceiling for `GET /health` in bench/api.py: an ASGI application that answers every
request with a small JSON object at once, served the way `windsock api-server` serves Windsock
(the same worker processes, sockets and HTTP protocol), so that the two compare."""

from __future__ import annotations

BODY = b'{"status": "healthy"}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


def create():
    """The application (an ASGI factory, as `windsock.app:create_app` is)."""

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        await send({"type": "http.response.body", "body": BODY})

    return app
