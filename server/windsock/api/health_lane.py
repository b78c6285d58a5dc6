"""`GET /health` on a lane of its own, so that it answers within about a second however busy
the API is, and costs next to nothing when it is polled hard.

Every other operation runs on the thread pool that serves Flask; when the database keeps
requests waiting (writers queued on SQLite's write lock, a PostgreSQL row lock), that pool fills
up and anything behind it waits too. A health check that waits with them tells a load balancer
or an orchestrator nothing in time. This middleware, the outermost of the application, answers
plain `GET`/`HEAD` of the health path itself with the same document as the operation: its probe
runs on a thread of its own, with a database session of its own pool and wait bounds (see
`windsock.db.engine.probe_session`); a probe that has not answered in time reports the
database unhealthy. One probe serves every request that arrives while it runs, and its answer
is reused for `[api] health_cache_seconds`, so a load balancer polling many times a second costs
a probe or so a second per worker. Requests with a query string go the usual way (and get the
usual 400), and so do cross-origin ones (for their CORS headers).
"""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor

from starlette.types import ASGIApp, Receive, Scope, Send

from windsock import config
from windsock.api.headers import NO_STORE, NOSNIFF
from windsock.api.problems import RETRY_AFTER_SECONDS
from windsock.db.engine import PROBE_SECONDS
from windsock.impl import monitoring

HEALTH_PATH = "/health"
_probes = ThreadPoolExecutor(max_workers=2, thread_name_prefix="health")  # one may hang
UNANSWERED = ({"metadatabase": {"status": "unhealthy"},
               "scheduler": {"status": "unhealthy", "latest_scheduler_heartbeat": None}}, 503)
_COMMON = [(b"content-type", b"application/json"),
           *((name.lower().encode(), value.encode()) for name, value in (NOSNIFF, NO_STORE))]


class _Answer:
    """A probe's answer, ready to send."""

    def __init__(self, body: dict, status: int) -> None:
        self.status, self.content = status, json.dumps(body).encode()
        self.headers = [*_COMMON, (b"content-length", str(len(self.content)).encode())]
        if status == 503:
            self.headers.append((b"retry-after", RETRY_AFTER_SECONDS.encode()))
        self.at = time.monotonic()


def _probe() -> _Answer:
    return _Answer(*monitoring.health())


class HealthLane:
    def __init__(self, app: ASGIApp, path: str) -> None:
        self.app, self.path = app, path
        self._answer: _Answer | None = None
        self._probing: asyncio.Future[_Answer] | None = None

    async def _current(self) -> _Answer:
        """The latest answer while it is fresh, else the running probe's, else a new probe's."""
        answer = self._answer
        if answer is not None and (time.monotonic() - answer.at
                                   < config.get_float("api", "health_cache_seconds")):
            return answer
        if self._probing is None:
            self._probing = asyncio.ensure_future(self._probe())
        return await asyncio.shield(self._probing)

    async def _probe(self) -> _Answer:
        probe = asyncio.get_running_loop().run_in_executor(_probes, _probe)
        try:
            self._answer = await asyncio.wait_for(probe, PROBE_SECONDS + 0.5)
        except asyncio.TimeoutError:
            self._answer = _Answer(*UNANSWERED)
        finally:
            self._probing = None
        return self._answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["path"] != self.path
                or scope["method"] not in ("GET", "HEAD") or scope.get("query_string")
                or any(name == b"origin" for name, _ in scope["headers"])):
            await self.app(scope, receive, send)
            return
        answer = await self._current()
        await send({"type": "http.response.start", "status": answer.status,
                    "headers": answer.headers})
        await send({"type": "http.response.body",
                    "body": b"" if scope["method"] == "HEAD" else answer.content})
