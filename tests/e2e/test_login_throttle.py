"""Failed-login throttling holds in total across API servers and their worker processes.

Two real `windsock api-server` processes with two workers each share the test database; an
attacker who spreads guesses over them gets no more than `[api] auth_failure_limit` in all.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import select

from tests.support.server import api_server
from windsock.db.engine import session
from windsock.db.models import AuthFailure, User
from windsock.security.users import create_user

LIMIT = 4
PASSWORD = "the-right-password"


@pytest.fixture(scope="module")
def servers(migrated) -> Iterator[tuple[str, str]]:
    env = {**migrated, "WINDSOCK__API__WORKERS": "2",
           "WINDSOCK__API__AUTH_FAILURE_LIMIT": str(LIMIT)}
    with api_server(env) as first, api_server(env) as second:
        yield first, second


@pytest.fixture
def username(migrated) -> str:
    name = f"target-{secrets.token_hex(4)}"
    create_user(name, PASSWORD, "Viewer", email=f"{name}@example.org")
    return name


def version(base: str, username: str, password: str) -> int:
    """The status of GET /version with basic credentials, on a new connection each time (so
    the requests spread over the server's workers too)."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return httpx.get(f"{base}/api/v1/version", headers={"Authorization": f"Basic {token}"},
                     timeout=60).status_code


def counted(username: str) -> tuple[list[int], int]:
    """The failure counts stored for the test's one pair, and the user's failed_login_count."""
    with session() as sess:
        return (sess.scalars(select(AuthFailure.failures)).all(),
                sess.scalar(select(User.failed_login_count).where(User.username == username)))


def test_the_limit_holds_in_total_across_servers(servers, username):
    assert version(servers[0], username, PASSWORD) == 200
    for attempt in range(LIMIT):
        assert version(servers[attempt % 2], username, "guess") == 401
    assert [version(base, username, PASSWORD) for base in servers] == [429, 429]
    assert counted(username) == ([LIMIT], LIMIT)


def test_concurrent_failures_all_count(servers, username):
    attempts = 3 * LIMIT
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda n: version(servers[n % 2], username, "guess"),
                                 range(attempts)))
    refused = statuses.count(401)
    assert refused + statuses.count(429) == attempts
    assert refused >= LIMIT
    assert counted(username) == ([refused], refused)
    assert version(servers[0], username, PASSWORD) == 429
