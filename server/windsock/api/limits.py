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
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > maximum:
                raise too_large
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > maximum:
                raise too_large
            return message

        await self.app(scope, counting_receive, send)
