"""The transitional experimental API (Airflow 2's `/api/experimental`): off unless
`[api] enable_experimental_api` is on, and deprecated on every answer.

ASGI middleware in front of routing and authentication: while the option is off, any path below
the experimental base is 404 before credentials are looked at. While it is on, each answer gets
`Deprecation` (RFC 9745: the date Airflow 2.0 deprecated it), `Sunset` (RFC 8594: `[api]
experimental_api_sunset`) and a `Link` to the stable operation that replaces the one called,
taken from its `x-successor` in the contract; each call is logged as deprecated use and counted,
and `GET /health` reports the count. `If-Match` and `If-None-Match` are dropped: that API had no
conditional requests, and the stable operations answering below would honour them.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from email.utils import format_datetime

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from windsock import config
from windsock.api import problems
from windsock.config import ConfigError

log = logging.getLogger(__name__)

BASE_PATH = "/api/experimental"
DEPRECATED_SINCE = "@1608163200"  # 2020-12-17, Airflow 2.0.0 deprecated the experimental API
REFERENCE_PATH = "/api/v1/docs"
CONDITIONAL_HEADERS = frozenset({b"if-match", b"if-none-match"})


def enabled() -> bool:
    return config.get_bool("api", "enable_experimental_api")


def sunset() -> str:
    """The Sunset header's HTTP date: the end (UTC) of `[api] experimental_api_sunset`."""
    value = config.get("api", "experimental_api_sunset")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ConfigError("[api] experimental_api_sunset must be a date (YYYY-MM-DD), "
                          f"not {value!r}.") from None
    return format_datetime(datetime.combine(day, time(), timezone.utc), usegmt=True)


@dataclass
class Use:
    """This process's count of experimental calls, for `GET /health`."""

    calls: int = 0
    latest_call: datetime | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def record(self) -> None:
        with self._lock:
            self.calls += 1
            self.latest_call = datetime.now(timezone.utc)


use = Use()


def successors(spec: dict) -> Callable[[str, str], str | None]:
    """A function giving, for a method and a path below the experimental base, the operationId
    of the stable operation that replaces it (its `x-successor`)."""
    table = []
    for template, item in spec["paths"].items():
        for server in item.get("servers", []):
            pattern = re.sub(r"\\{[^/]+?\\}", "[^/]+",
                             re.escape(server["url"].rstrip("/") + template))
            table.extend((re.compile(pattern + "$"), method.upper(), operation["x-successor"])
                         for method, operation in item.items() if "x-successor" in operation)

    def successor(method: str, path: str) -> str | None:
        return next((target for regex, verb, target in table
                     if verb == method and regex.match(path)), None)

    return successor


class ExperimentalGate:
    def __init__(self, app: ASGIApp, successor: Callable[[str, str], str | None]) -> None:
        self.app, self.successor = app, successor

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == BASE_PATH
                                           or path.startswith(BASE_PATH + "/")):
            await self.app(scope, receive, send)
            return
        if not enabled():
            body = problems.document(404, "The experimental API is switched off; use the "
                                     "stable API below /api/v1 (or set [api] "
                                     "enable_experimental_api = True).", path).encode()
            await send({"type": "http.response.start", "status": 404,
                        "headers": [(b"content-type", b"application/problem+json"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        scope = {**scope, "headers": [(name, value) for name, value in scope["headers"]
                                      if name not in CONDITIONAL_HEADERS]}
        use.record()
        log.warning("deprecated use of the experimental API: %s %s from %s", scope["method"],
                    path, (scope.get("client") or ("?",))[0])
        deprecation = {"Deprecation": DEPRECATED_SINCE, "Sunset": sunset()}
        if target := self.successor(scope["method"], path):
            deprecation["Link"] = f'<{REFERENCE_PATH}#operation/{target}>; rel="successor-version"'

        async def send_deprecated(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(deprecation)
            await send(message)

        await self.app(scope, receive, send_deprecated)
