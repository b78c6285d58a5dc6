"""`GET /health` on a lane of its own, so that it answers within about a second however busy
the API is.

Every other operation runs on the thread pool that serves Flask; when the database keeps
requests waiting (writers queued on SQLite's write lock, a PostgreSQL row lock), that pool fills
up and anything behind it waits too. A health check that waits with them tells a load balancer
or an orchestrator nothing in time. This middleware answers plain `GET`/`HEAD` of the health
path itself, before routing, with the same document as the operation: its probe runs on two
threads of its own, with a database session of its own pool and wait bounds (see
`windsock.db.engine.probe_session`); a probe that has not answered in time reports the
database unhealthy. Requests with a query string go the usual way (and get the usual 400).
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

from starlette.types import ASGIApp, Receive, Scope, Send

from windsock.api.problems import RETRY_AFTER_SECONDS
from windsock.db.engine import PROBE_SECONDS
from windsock.impl import monitoring

HEALTH_PATH = "/health"
_probes = ThreadPoolExecutor(max_workers=2, thread_name_prefix="health")
UNANSWERED = ({"metadatabase": {"status": "unhealthy"},
               "scheduler": {"status": "unhealthy", "latest_scheduler_heartbeat": None}}, 503)


class HealthLane:
    def __init__(self, app: ASGIApp, path: str) -> None:
        self.app, self.path = app, path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["path"] != self.path
                or scope["method"] not in ("GET", "HEAD") or scope.get("query_string")):
            await self.app(scope, receive, send)
            return
        probe = asyncio.get_running_loop().run_in_executor(_probes, monitoring.health)
        try:
            body, status = await asyncio.wait_for(probe, PROBE_SECONDS + 0.5)
        except asyncio.TimeoutError:
            body, status = UNANSWERED
        content = json.dumps(body).encode()
        headers = [(b"content-type", b"application/json"),
                   (b"content-length", str(len(content)).encode())]
        if status == 503:
            headers.append((b"retry-after", RETRY_AFTER_SECONDS.encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body",
                    "body": b"" if scope["method"] == "HEAD" else content})
