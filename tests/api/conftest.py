"""Fixtures of the in-process API tests."""

import pytest

from tests.api.helpers import UNREACHABLE_DATABASE


@pytest.fixture
def database_down(monkeypatch):
    """Point the server at a database that refuses connections, for the rest of the test."""
    monkeypatch.setenv("WINDSOCK__DATABASE__SQL_ALCHEMY_CONN", UNREACHABLE_DATABASE)


@pytest.fixture
def enable(monkeypatch):
    """enable("expose_config") switches an `[api]` option on through the environment."""

    def switch_on(option: str) -> None:
        monkeypatch.setenv(f"WINDSOCK__API__{option.upper()}", "True")

    return switch_on
