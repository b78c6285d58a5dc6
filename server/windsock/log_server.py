"""The worker log server: each Celery worker serves the task logs in its [logging]
base_log_folder over HTTP, read-only, to the API servers, which read a log from the worker that
wrote it when the file is not on their own machine (see logs.locate).

    GET /log/<path under the base log folder>?offset=<byte>&max_bytes=<n>
    Authorization: Bearer <token>

answers `{"content": ..., "end": ...}` as logs.read reads the file there, so paging and
continuation tokens work as for a local file; 416 when the offset is past the end of the log,
403 without a valid token, 404 for anything but a log file in the folder.

As Airflow's worker log server does, it serves only requests signed with the key the API
servers and the workers share ([api] secret_key): the token is a JWT that names the one file it
may read and expires TOKEN_SECONDS after it was issued, so neither a captured token nor a guess
reads anything else. The server listens on [logging] worker_log_server_host and _port.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import setproctitle

from windsock import config, forking, logs
from windsock.security.keys import signing_key

AUDIENCE = "windsock-worker-log"
ALGORITHM = "HS256"
TOKEN_SECONDS = 30
PREFIX = "/log/"
TITLE = "windsock worker log server"
PR_SET_PDEATHSIG = 1
log = logging.getLogger(__name__)


def token(path: str) -> str:
    """A token that lets its bearer read the log at `path` (under the base log folder)."""
    now = int(time.time())
    return jwt.encode({"aud": AUDIENCE, "filename": path, "iat": now, "exp": now + TOKEN_SECONDS},
                      signing_key(), algorithm=ALGORITHM)


def _allowed(header: str | None, path: str) -> bool:
    """Whether the Authorization header holds a valid token for the log at `path`."""
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    try:
        claims = jwt.decode(value, signing_key(), algorithms=[ALGORITHM], audience=AUDIENCE,
                            options={"require": ["exp", "filename"]})
    except jwt.InvalidTokenError:
        return False
    return claims["filename"] == path


def _url(hostname: str, path: str, query: dict[str, int]) -> str:
    host = f"[{hostname}]" if ":" in hostname else hostname
    return (f"http://{host}:{config.get_int('logging', 'worker_log_server_port')}{PREFIX}"
            f"{urllib.parse.quote(path)}?{urllib.parse.urlencode(query)}")


def fetch(worker_log: logs.WorkerLog, offset: int, max_bytes: int | None) -> tuple[str, int]:
    """Read a piece of a log from the log server of the worker that holds it, as logs.read
    would there: ValueError for an offset past the end, LogUnavailable when the worker cannot
    be reached or refuses."""
    query = {"offset": offset, **({} if max_bytes is None else {"max_bytes": max_bytes})}
    request = urllib.request.Request(
        _url(worker_log.hostname, worker_log.path, query),
        headers={"Authorization": f"Bearer {token(worker_log.path)}",
                 "Accept": "application/json"})
    where = f"on worker {worker_log.hostname!r}"
    try:
        with urllib.request.urlopen(
                request, timeout=config.get_float("logging", "worker_log_fetch_timeout")) as answer:
            body = json.load(answer)
        return body["content"], body["end"]
    except urllib.error.HTTPError as exc:
        if exc.code == HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE:
            raise ValueError(f"offset {offset} is past the end of the log") from None
        if exc.code == HTTPStatus.FORBIDDEN:
            raise logs.LogUnavailable(
                f"The log of this try is {where}, whose log server refused to serve it: the API "
                "servers and the workers must share the same [api] secret_key.") from None
        raise logs.LogUnavailable(f"The log of this try is {where}, whose log server answered "
                                  f"{exc.code} {exc.reason}.") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:  # unreachable, or not its answer
        reason = getattr(exc, "reason", exc)
        raise logs.LogUnavailable(
            f"The log of this try is {where}, whose log server (port "
            f"{config.get('logging', 'worker_log_server_port')}) cannot be read now: {reason}. "
            "Try again once the worker is reachable.") from None


class _Handler(BaseHTTPRequestHandler):
    server_version = "windsock-log-server"

    def do_GET(self) -> None:  # noqa: N802 - the http.server interface
        url = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(url.path.removeprefix(PREFIX))
        if not url.path.startswith(PREFIX) or not _allowed(self.headers.get("Authorization"),
                                                           path):
            return self._answer(HTTPStatus.FORBIDDEN, {"detail": "Not a valid log token."})
        base = logs.base_folder().resolve()
        file = (base / path).resolve()
        if not file.is_relative_to(base) or file.suffix != ".log":
            return self._answer(HTTPStatus.NOT_FOUND, {"detail": "Not a log file."})
        try:
            query = {key: int(value) for key, value in urllib.parse.parse_qsl(url.query)}
        except ValueError:
            return self._answer(HTTPStatus.BAD_REQUEST, {"detail": "offset and max_bytes are "
                                                                  "whole numbers."})
        try:
            content, end = logs.read(file, query.get("offset", 0), query.get("max_bytes"))
        except ValueError as exc:
            return self._answer(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, {"detail": str(exc)})
        self._answer(HTTPStatus.OK, {"content": content, "end": end})

    def _answer(self, status: HTTPStatus, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        log.debug("%s %s", self.address_string(), format % args)


def _serve(server: ThreadingHTTPServer) -> None:
    """Serve the base log folder until SIGTERM or SIGINT (or the parent process dies)."""
    setproctitle.setproctitle(TITLE)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: sys.exit(0))
    with server:
        server.serve_forever()


def start() -> int:
    """Listen on [logging] worker_log_server_host and _port (OSError when that fails), and fork
    a process that serves the logs and dies with this one; its pid."""
    host = config.get("logging", "worker_log_server_host")
    port = config.get_int("logging", "worker_log_server_port")
    server = ThreadingHTTPServer((host, port), _Handler)
    log.info("Serving the task logs of %s on %s:%s", logs.base_folder(), host, port)
    parent = os.getpid()

    def serve() -> None:
        if sys.platform.startswith("linux"):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() == parent:  # (else the parent died before prctl)
            _serve(server)

    pid = forking.fork(serve, "The worker log server")
    server.server_close()  # the child listens
    return pid
