"""The HTTP/1.1 protocol of `windsock api-server`: uvicorn's httptools protocol, with the request
head kept within the `[api]` limits while it is read, and problem+json where uvicorn answers
in plain text.

uvicorn's httptools protocol reads a request's head whole, with no bound, before the app sees
it (a 4 MB header field or 20,000 fields were read and handed on), and answers a request it
cannot parse with a plain-text 400 (among them any target longer than 65535 bytes, which
httptools cannot split). This protocol checks the limits of `windsock.api.limits.HeadLimits`
as the head arrives: the target with each piece of it, the fields as each one completes, and,
because httptools holds a field back until it is complete, the bytes received for the head.
A request over a limit is answered 414 or 431, an unparsable one 400, each as a problem
document, and the connection is closed: the answer's side at once, the other after what the
client still sends has been read and dropped for up to LINGER_SECONDS (closing both at once,
with the rest of the request unread, resets the connection, and a client still sending may then
never read the answer).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import unquote

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from windsock.api import problems
from windsock.api.headers import NO_STORE, NOSNIFF
from windsock.api.limits import HeadLimits
from windsock.api.problems import BadRequest, HeaderFieldsTooLarge, Problem

log = logging.getLogger(__name__)
LINGER_SECONDS = 2.0


@dataclass
class _Head:
    """What has been read of the head of the request being received."""
    header_size: int = 0
    received: int = 0  # bytes of the chunks that arrived after the one the request began in


class HttpProtocol(HttpToolsProtocol):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.limits = HeadLimits.configured()
        self.head: _Head | None = None
        self.refusal: tuple[Problem, str | None] | None = None  # what _check refused
        self.answered = False  # a refusal was sent: the rest is read and dropped

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.head = _Head()

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        # The path is known once the query has begun; otherwise it is what is too long.
        self._check(self.limits.target_problem(len(self.url)),
                    self._path() if b"?" in self.url else None)

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        name, value = self.headers[-1]  # as uvicorn keeps it
        self.head.header_size += len(name) + len(value)
        self._check(self.limits.headers_problem(len(self.headers), self.head.header_size),
                    self._path())

    def on_headers_complete(self) -> None:
        self.head = None
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        if self.answered:
            return
        head = self.head
        super().data_received(data)
        if head is None or head is not self.head or self.answered:
            return
        head.received += len(data)
        if head.received > self.limits.head_bytes:
            # A field is what is too large: the target, within its own limit, is read by now.
            self._refuse(HeaderFieldsTooLarge(
                f"The request's head is larger than the {self.limits.head_bytes} bytes the "
                "[api] max_url_length, max_header_size and max_header_count limits allow."),
                self._path())

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request it could not parse, or that `_check` refused."""
        self._refuse(*(self.refusal or (BadRequest("The request is not valid HTTP/1.1."), None)))

    def _check(self, problem: Problem | None, instance: str | None) -> None:
        if problem is not None:
            self.refusal = problem, instance
            raise problem  # stops httptools, and uvicorn calls send_400_response

    def _path(self) -> str:
        return unquote(self.url.partition(b"?")[0].decode("latin-1"))

    def _refuse(self, problem: Problem, instance: str | None) -> None:
        log.warning("refused a request with %s: %s", problem.status, problem.detail)
        self.answered = True
        body = problems.document(problem.status, problem.detail, instance, problem.title).encode()
        fields = [*self.server_state.default_headers,
                  *((name.lower().encode(), value.encode()) for name, value in (NOSNIFF, NO_STORE)),
                  (b"content-type", b"application/problem+json"),
                  (b"content-length", str(len(body)).encode()),
                  (b"connection", b"close")]
        lines = [name + b": " + value + b"\r\n" for name, value in fields]
        self.transport.write(b"".join([STATUS_LINE[problem.status], *lines, b"\r\n", body]))
        self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)
