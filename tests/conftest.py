"""Fixtures shared by every suite.

The database is chosen by WINDSOCK_TEST_DATABASE: `sqlite` (default) or `postgresql`, for which
a throwaway cluster is installed if needed and started for the session. Each test starts from
a freshly migrated schema holding only the `admin` user and `default_pool`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import delete

ADMIN = ("admin", "admin-test-password")
ADMIN_EMAIL = "admin@example.org"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    kind = os.environ.get("WINDSOCK_TEST_DATABASE", "sqlite")
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db')}/windsock.db"
    elif kind == "postgresql":
        from tests.support.postgres import start_cluster

        cluster = start_cluster()
        try:
            yield cluster.create_database("windsock_test")
        finally:
            cluster.stop()
    else:
        raise pytest.UsageError(f"WINDSOCK_TEST_DATABASE must be sqlite or postgresql, not {kind}")


@pytest.fixture(scope="session")
def windsock_env(database_url, tmp_path_factory) -> dict[str, str]:
    """Environment that points Windsock at the test home and database."""
    return {
        "WINDSOCK_HOME": str(tmp_path_factory.mktemp("home")),
        "WINDSOCK__DATABASE__SQL_ALCHEMY_CONN": database_url,
        # Tests change what /health reports and ask at once (test_monitoring tests the reuse).
        "WINDSOCK__API__HEALTH_CACHE_SECONDS": "0",
    }


@pytest.fixture(scope="session")
def migrated(windsock_env) -> dict[str, str]:
    os.environ.update(windsock_env)
    from windsock.db import migrate
    from windsock.security.users import create_user

    migrate.upgrade()
    create_user(*ADMIN, role="Admin", email=ADMIN_EMAIL)
    return windsock_env


def delete_created_rows() -> None:
    """Delete every row but the admin user, default_pool and the built-in roles with their
    permissions (children before parents)."""
    from windsock.db import models
    from windsock.db.engine import session
    from windsock.db.models import DEFAULT_POOL, Connection, Pool, Resource, Role, User, Variable
    from windsock.security.model import BUILT_IN_ROLES, DAG_PREFIX

    with session() as sess:
        sess.execute(delete(models.dagrun_dataset_event))
        for model in (models.DatasetDagRunQueue, models.DatasetEvent, models.DagScheduleDataset,
                      models.TaskOutletDataset, models.Dataset):
            sess.execute(delete(model))
        for model in (models.XCom, models.TaskInstanceTry, models.TaskInstance, models.DagRun,
                      models.Backfill, models.EventLog, models.DagWarning, models.SerializedDag,
                      models.DagTag, models.Dag, models.DagCode, models.ImportError,
                      models.DagParsingRequest, models.Job, models.ApiToken, models.UserSession,
                      models.AuthFailure, models.IdempotencyKey):
            sess.execute(delete(model))
        sess.execute(delete(Variable))
        sess.execute(delete(Connection))
        sess.execute(delete(Pool).where(Pool.pool != DEFAULT_POOL))
        sess.execute(delete(User).where(User.username != ADMIN[0]))
        sess.execute(delete(Role).where(Role.name.not_in(BUILT_IN_ROLES)))
        sess.execute(delete(Resource).where(Resource.name.startswith(DAG_PREFIX)))


@pytest.fixture(autouse=True)
def clean_database(request) -> Iterator[None]:
    """Remove what a test created, keeping the admin user and default_pool."""
    yield
    if "migrated" in request.fixturenames:
        delete_created_rows()


@pytest.fixture(scope="session")
def app(migrated):
    from windsock.app import create_app

    return create_app()


@pytest.fixture
def client(app, monkeypatch):
    """An in-process HTTP client authenticated as admin; config changes are undone after."""
    with app.test_client() as test_client:
        test_client.auth = ADMIN
        yield test_client
