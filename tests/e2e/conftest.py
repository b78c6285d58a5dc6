"""Fixtures for the SDK end-to-end tests: one real `windsock api-server` for the session.

The server process uses the same database as the test process (`windsock_env`), so the autouse
`clean_database` fixture of tests/conftest.py removes, after each test, what the SDKs created
through the server.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.server import api_server


@pytest.fixture(scope="session")
def live_server(migrated) -> Iterator[str]:
    """Base URL (e.g. http://127.0.0.1:PORT) of a running api-server on the migrated database."""
    with api_server(migrated) as base:
        yield base
