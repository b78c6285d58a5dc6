"""Fixtures of the contract tests: the server configuration they run with, and a database reset."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# Options switched on for the whole contract run, so that every operation is exercised beyond 403.
# Configuration is read from the environment on every call, so setting it here is enough. None of
# them changes what a request may hold: the limits that do ([api] maximum_page_limit, which the
# served contract carries, and max_request_body_size) keep their defaults.
CONTRACT_ENV = {
    # GET /config and GET /config/section/{section}/option/{option} answer 403 unless exposed.
    "WINDSOCK__API__EXPOSE_CONFIG": "True",
    # POST /connections/test answers 403 unless enabled. The test module rewrites every
    # generated host to the loopback address, so no request ever leaves the machine.
    "WINDSOCK__API__ENABLE_CONNECTION_TEST": "True",
    # The experimental API (below /api/experimental, the servers of its paths) is 404 unless on.
    "WINDSOCK__API__ENABLE_EXPERIMENTAL_API": "True",
    # Checks such as ignored_auth send wrong credentials for the admin on purpose; with the
    # default [api] auth_failure_limit a few in a row would lock the admin out (429) for the
    # rest of the run. The throttle itself is tested in tests/api/test_auth_backends.py.
    "WINDSOCK__API__AUTH_FAILURE_LIMIT": str(2**31 - 1),
}


@pytest.fixture(scope="module", autouse=True)
def contract_env() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in CONTRACT_ENV.items():
            patch.setenv(name, value)
        yield


def reset_database() -> None:
    """Back to the seeded state: the objects the contract's examples name, and the admin."""
    from tests.conftest import delete_created_rows
    from tests.support.seed import seed_contract_examples

    delete_created_rows()
    seed_contract_examples()


@pytest.fixture(autouse=True)
def examples_seeded(migrated) -> None:
    """Every contract test starts from the seeded example objects."""
    reset_database()
