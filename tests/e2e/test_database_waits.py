"""A slow database: requests wait a bounded time, then 503; /health keeps answering.

Another process holds the lock the writers need (SQLite's write lock; on PostgreSQL the row
they change) while 40 writers hit a real api-server whose `[database] wait_timeout` is 2 s.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import ADMIN
from tests.support.server import api_server

WAIT_TIMEOUT = 2
WRITERS = 40


@pytest.fixture(scope="module")
def server(migrated) -> Iterator[str]:
    with api_server({**migrated, "WINDSOCK__DATABASE__WAIT_TIMEOUT": str(WAIT_TIMEOUT)}) as base:
        yield base


@contextmanager
def lock_held(database_url: str) -> Iterator[None]:
    """Hold, from a connection of this process, what a PATCH of variable `held` needs."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        conn = sqlite3.connect(url.database, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
    else:
        import psycopg

        conn = psycopg.connect(url.set(drivername="postgresql").render_as_string(False))
        conn.execute("SELECT * FROM variable WHERE key = 'held' FOR UPDATE")
    try:
        yield
    finally:
        conn.rollback()
        conn.close()


def test_writers_get_503_in_bounded_time_and_health_answers(server, database_url):
    with httpx.Client(base_url=f"{server}/api/v1", auth=ADMIN, timeout=60,
                      limits=httpx.Limits(max_connections=WRITERS + 1)) as api:
        api.post("/variables", json={"key": "held", "value": "0"}).raise_for_status()

        def write(i: int) -> tuple[httpx.Response, float]:
            started = time.monotonic()
            answer = api.patch("/variables/held", json={"value": str(i)})
            return answer, time.monotonic() - started

        with lock_held(database_url), ThreadPoolExecutor(WRITERS) as pool:
            writes = [pool.submit(write, i) for i in range(WRITERS)]
            health_times = []
            time.sleep(0.5)  # the writers fill the server's request threads
            while not all(w.done() for w in writes[: WRITERS // 2]):
                started = time.monotonic()
                health = api.get("/health", auth=None)
                health_times.append(time.monotonic() - started)
                assert health.status_code == 200
                assert health.json()["metadatabase"]["status"] == "healthy"
                time.sleep(0.3)
            answers = [w.result() for w in writes]

        assert health_times and max(health_times) < 1.0, health_times
        for answer, elapsed in answers:
            assert answer.status_code == 503, answer.text
            assert answer.headers["Content-Type"] == "application/problem+json"
            assert answer.headers["Retry-After"]
            assert "busy" in answer.json()["detail"]
        # Each waited for the lock about WAIT_TIMEOUT, behind at most a few waves of writers.
        assert max(elapsed for _, elapsed in answers) < 15
        assert api.patch("/variables/held", json={"value": "after"}).status_code == 200
        assert api.get("/variables/held").json()["value"] == "after"
