"""ASGI middleware that rejects request bodies above `[api] max_request_body_size` with 413."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from windsock import config
from windsock.api.problems import ContentTooLarge


class BodySizeLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        maximum = config.get_int("api", "max_request_body_size")
        too_large = ContentTooLarge(
            f"The request body is larger than the maximum of {maximum} bytes "
            "([api] max_request_body_size).")
        headers = dict(scope.get("headers", []))
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > maximum:
            raise too_large
        if length is None and b"chunked" in headers.get(b"transfer-encoding", b"").lower():
            scope, receive = await _with_length(scope, receive, maximum, too_large)
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > maximum:
                raise too_large
            return message

        await self.app(scope, counting_receive, send)


async def _with_length(scope: Scope, receive: Receive, maximum: int,
                       too_large: ContentTooLarge) -> tuple[Scope, Receive]:
    """Read a chunked body (up to `maximum`) and pass it on with a Content-Length instead.

    connexion's validation and Flask only read bodies that declare their length.
    """
    body = b""
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        body += message.get("body", b"")
        if len(body) > maximum:
            raise too_large
        more = message.get("more_body", False)
    headers = [(name, value) for name, value in scope["headers"] if name != b"transfer-encoding"]
    headers.append((b"content-length", str(len(body)).encode()))
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return {**scope, "headers": headers}, replay
