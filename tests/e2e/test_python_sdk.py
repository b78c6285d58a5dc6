"""The generated Python SDK (windsock_client) against a real api-server process.

Each test goes over the wire: SDK -> HTTP -> `windsock api-server` -> database, and back.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import windsock_client
from windsock_client.exceptions import (
    ApiException,
    NotFoundException,
    UnauthorizedException,
)
from windsock_client.models import (
    ConnectionCreate,
    ConnectionUpdate,
    Error,
    HealthStatus,
    PoolCreate,
    PoolUpdate,
    Variable,
    VariableUpdate,
)

from tests.conftest import ADMIN

ERRORS = "/api/v1/docs/errors"
DEFAULT_POOL = "default_pool"


def _configuration(live_server: str, username: str | None = ADMIN[0],
                   password: str | None = ADMIN[1]) -> windsock_client.Configuration:
    return windsock_client.Configuration(host=f"{live_server}/api/v1", username=username,
                                         password=password)


@pytest.fixture
def api_client(live_server) -> Iterator[windsock_client.ApiClient]:
    with windsock_client.ApiClient(_configuration(live_server)) as client:
        yield client


def _problem(exc: ApiException) -> Error:
    """The problem document an error response carries, as the generated Error model."""
    assert exc.headers is not None
    assert exc.headers["Content-Type"].startswith("application/problem+json")
    assert exc.body, "an error response must carry a problem document"
    return Error.from_json(exc.body)


def _pages(fetch, items, *, size: int) -> list[list[str]]:
    """Every page of a collection, fetched `size` at a time; checks total_entries on each."""
    first = fetch(limit=size, offset=0)
    total = first.total_entries
    pages = [items(first)]
    for offset in range(size, total, size):
        page = fetch(limit=size, offset=offset)
        assert page.total_entries == total
        pages.append(items(page))
    return pages


# --- monitoring ----------------------------------------------------------------------------------


def test_health_needs_no_credentials(live_server):
    config = _configuration(live_server, username=None, password=None)
    with windsock_client.ApiClient(config) as client:
        health = windsock_client.MonitoringApi(client).get_health()
    assert health.metadatabase.status == HealthStatus.HEALTHY
    assert health.scheduler.status in (HealthStatus.HEALTHY, HealthStatus.UNHEALTHY)


def test_version(api_client):
    from windsock import __version__

    info = windsock_client.MonitoringApi(api_client).get_version()
    assert info.version == __version__
    assert info.git_version is None or isinstance(info.git_version, str)


# --- authentication ------------------------------------------------------------------------------


def test_missing_credentials_are_unauthorized(live_server):
    config = _configuration(live_server, username=None, password=None)
    with windsock_client.ApiClient(config) as client:
        with pytest.raises(UnauthorizedException) as caught:
            windsock_client.VariableApi(client).get_variables()
    assert caught.value.status == 401
    assert caught.value.headers["WWW-Authenticate"].startswith("Basic")
    problem = _problem(caught.value)
    assert problem.status == 401
    assert problem.title == "Unauthorized"
    assert problem.type.startswith(ERRORS)


def test_wrong_password_is_unauthorized(live_server):
    config = _configuration(live_server, password="not-the-password")
    with windsock_client.ApiClient(config) as client:
        with pytest.raises(UnauthorizedException) as caught:
            windsock_client.PoolApi(client).get_pool(DEFAULT_POOL)
    assert caught.value.status == 401
    problem = _problem(caught.value)
    assert problem.status == 401
    assert problem.type.startswith(ERRORS)


# --- variables -----------------------------------------------------------------------------------


def test_variable_lifecycle(api_client):
    api = windsock_client.VariableApi(api_client)

    created = api.post_variables(Variable(key="deploy_target", value="eu-west-1",
                                          description="Region the export writes to."))
    assert (created.key, created.value, created.description) == (
        "deploy_target", "eu-west-1", "Region the export writes to.")

    fetched = api.get_variable("deploy_target")
    assert fetched == created

    # update_mask limits the change to `value`, although the body also carries a description.
    patched = api.patch_variable("deploy_target",
                                 VariableUpdate(value="us-east-2", description="ignored"),
                                 update_mask=["value"])
    assert (patched.value, patched.description) == ("us-east-2", "Region the export writes to.")
    assert api.get_variable("deploy_target") == patched

    # Without a mask, every field in the body changes.
    patched = api.patch_variable("deploy_target", VariableUpdate(value="ap-south-1",
                                                                 description="Changed."))
    assert (patched.value, patched.description) == ("ap-south-1", "Changed.")

    api.delete_variable("deploy_target")
    with pytest.raises(NotFoundException):
        api.get_variable("deploy_target")
    assert api.get_variables().total_entries == 0


def test_variables_are_paged(api_client):
    api = windsock_client.VariableApi(api_client)
    keys = [f"var_{i:02d}" for i in range(7)]
    for key in reversed(keys):
        api.post_variables(Variable(key=key, value=f"value of {key}"))

    pages = _pages(api.get_variables, lambda page: [v.key for v in page.variables], size=3)
    assert pages == [keys[0:3], keys[3:6], keys[6:7]]

    descending = api.get_variables(limit=2, offset=1, order_by="-key")
    assert descending.total_entries == 7
    assert [v.key for v in descending.variables] == ["var_05", "var_04"]

    beyond = api.get_variables(limit=3, offset=10)
    assert beyond.total_entries == 7
    assert beyond.variables == []


def test_missing_variable_is_a_typed_problem(api_client):
    with pytest.raises(NotFoundException) as caught:
        windsock_client.VariableApi(api_client).get_variable("no_such_variable")
    assert caught.value.status == 404
    problem = _problem(caught.value)
    assert problem.type == f"{ERRORS}#not-found"
    assert problem.title == "Not Found"
    assert problem.status == 404
    assert problem.detail is not None and "no_such_variable" in problem.detail


def test_posting_an_existing_variable_sets_it(api_client):
    api = windsock_client.VariableApi(api_client)
    created = api.post_variables_with_http_info(Variable(key="once", value="1"))
    assert created.status_code == 201
    replaced = api.post_variables_with_http_info(Variable(key="once", value="2"))
    assert (replaced.status_code, replaced.data.value) == (200, "2")
    assert api.get_variable("once").value == "2"


# --- connections ---------------------------------------------------------------------------------


def test_connection_lifecycle(api_client):
    api = windsock_client.ConnectionApi(api_client)

    created = api.post_connection(ConnectionCreate(
        connection_id="warehouse", conn_type="postgres", description="Reporting warehouse.",
        host="warehouse.internal", login="reporting", password="s3cr3t", var_schema="analytics",
        port=5432, extra='{"sslmode": "require"}'))
    assert created.connection_id == "warehouse"
    assert created.conn_type == "postgres"
    assert (created.host, created.login, created.var_schema, created.port) == (
        "warehouse.internal", "reporting", "analytics", 5432)
    assert created.description == "Reporting warehouse."
    assert "password" not in created.to_dict()

    fetched = api.get_connection("warehouse")
    assert fetched == created

    patched = api.patch_connection("warehouse",
                                   ConnectionUpdate(port=6432, host="ignored.internal"),
                                   update_mask=["port"])
    assert (patched.port, patched.host) == (6432, "warehouse.internal")
    assert api.get_connection("warehouse") == patched

    api.delete_connection("warehouse")
    with pytest.raises(NotFoundException) as caught:
        api.get_connection("warehouse")
    problem = _problem(caught.value)
    assert (problem.status, problem.title) == (404, "Not Found")
    assert api.get_connections().total_entries == 0


def test_connections_are_paged(api_client):
    api = windsock_client.ConnectionApi(api_client)
    ids = [f"conn_{i:02d}" for i in range(5)]
    for connection_id in ids:
        api.post_connection(ConnectionCreate(connection_id=connection_id, conn_type="http",
                                             host=f"{connection_id}.example.org"))

    pages = _pages(api.get_connections,
                   lambda page: [c.connection_id for c in page.connections], size=2)
    assert pages == [ids[0:2], ids[2:4], ids[4:5]]

    page = api.get_connections(limit=2, offset=1)
    assert [(c.connection_id, c.host) for c in page.connections] == [
        ("conn_01", "conn_01.example.org"), ("conn_02", "conn_02.example.org")]


# --- pools ---------------------------------------------------------------------------------------


def test_pool_lifecycle(api_client):
    api = windsock_client.PoolApi(api_client)

    created = api.post_pool(PoolCreate(name="warehouse", slots=4,
                                       description="Warehouse queries."))
    assert (created.name, created.slots, created.description) == (
        "warehouse", 4, "Warehouse queries.")
    assert created.include_deferred is False
    assert created.occupied_slots == 0
    assert created.open_slots == 4

    fetched = api.get_pool("warehouse")
    assert fetched == created

    patched = api.patch_pool("warehouse", PoolUpdate(slots=10, description="ignored"),
                             update_mask=["slots"])
    assert (patched.slots, patched.open_slots, patched.description) == (
        10, 10, "Warehouse queries.")
    assert api.get_pool("warehouse") == patched

    api.delete_pool("warehouse")
    with pytest.raises(NotFoundException) as caught:
        api.get_pool("warehouse")
    assert _problem(caught.value).status == 404
    assert [p.name for p in api.get_pools().pools] == [DEFAULT_POOL]


def test_pools_are_paged(api_client):
    api = windsock_client.PoolApi(api_client)
    names = [f"pool_{i:02d}" for i in range(5)]
    for name in names:
        api.post_pool(PoolCreate(name=name, slots=2))

    pages = _pages(api.get_pools, lambda page: [p.name for p in page.pools], size=2)
    assert [len(page) for page in pages] == [2, 2, 2]
    listed = [name for page in pages for name in page]
    assert sorted(listed) == sorted([DEFAULT_POOL, *names])

    assert api.get_pools(limit=100).total_entries == 6


def test_default_pool_cannot_be_deleted(api_client):
    api = windsock_client.PoolApi(api_client)
    with pytest.raises(ApiException) as caught:
        api.delete_pool(DEFAULT_POOL)
    problem = _problem(caught.value)
    assert problem.status == caught.value.status
    assert 400 <= problem.status < 500
    assert problem.type.startswith(ERRORS)
    assert api.get_pool(DEFAULT_POOL).name == DEFAULT_POOL
