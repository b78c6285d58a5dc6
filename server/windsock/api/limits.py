"""Limits on the size of a request, as ASGI middleware.

- The head: a target (path and query) longer than `[api] max_url_length` is 414; more header
  fields than `[api] max_header_count`, or more bytes of header names and values together than
  `[api] max_header_size`, is 431. `windsock api-server` checks the same limits while it reads
  the head (`windsock.api.http_protocol`), so an oversized head is refused before it is read
  whole; the middleware keeps them under any other ASGI server too.
- The body: more than `[api] max_request_body_size` bytes is 413.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from windsock import config
from windsock.api.problems import ContentTooLarge, HeaderFieldsTooLarge, UriTooLong

# Bytes a line of the head may take besides what the limits count: the method and version of
# the request line, a field's colon and line end, and some optional whitespace.
LINE_OVERHEAD = 64


@dataclass(frozen=True)
class HeadLimits:
    url: int
    header_size: int
    header_count: int

    @classmethod
    def configured(cls) -> HeadLimits:
        return cls(config.get_int("api", "max_url_length"),
                   config.get_int("api", "max_header_size"),
                   config.get_int("api", "max_header_count"))

    def target_problem(self, length: int) -> UriTooLong | None:
        if length <= self.url:
            return None
        return UriTooLong(f"The request target (path and query) is longer than the maximum of "
                          f"{self.url} bytes ([api] max_url_length).")

    def headers_problem(self, count: int, size: int) -> HeaderFieldsTooLarge | None:
        if count > self.header_count:
            return HeaderFieldsTooLarge(f"The request has more than {self.header_count} header "
                                        "fields ([api] max_header_count).")
        if size > self.header_size:
            return HeaderFieldsTooLarge(f"The request's header names and values are larger than "
                                        f"the maximum of {self.header_size} bytes together "
                                        "([api] max_header_size).")
        return None

    @property
    def head_bytes(self) -> int:
        """Most bytes a request head within the limits can take on the wire."""
        return self.url + self.header_size + LINE_OVERHEAD * (self.header_count + 2)


class RequestHeadLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            limits = HeadLimits.configured()
            query = scope.get("query_string", b"")
            target = len(scope.get("raw_path") or scope["path"].encode()) + (
                len(query) + 1 if query else 0)
            headers = scope.get("headers", [])
            problem = limits.target_problem(target) or limits.headers_problem(
                len(headers), sum(len(name) + len(value) for name, value in headers))
            if problem is not None:
                raise problem
        await self.app(scope, receive, send)


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
