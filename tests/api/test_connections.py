"""Connections: write-only passwords, `extra` as a JSON object, and POST /connections/test."""

import socket

import pytest
from sqlalchemy import select

from tests.api.helpers import API, CONNECTIONS, assert_problem
from tests.support.ports import free_port

TEST = f"{API}/connections/test"
RETURNED = {"connection_id", "conn_type", "description", "host", "login", "schema", "port",
            "extra"}


def stored_password(connection_id: str) -> str | None:
    from windsock.db.engine import session
    from windsock.db.models import Connection

    with session() as sess:
        return sess.scalar(select(Connection.password).where(Connection.conn_id == connection_id))


def test_create_and_get_round_trip_without_the_password(client):
    body = CONNECTIONS.body("warehouse")
    response = client.post(CONNECTIONS.path, json=body)
    assert response.status_code == 201
    expected = {k: v for k, v in body.items() if k != "password"}
    assert response.json() == expected
    fetched = client.get(CONNECTIONS.url("warehouse"))
    assert fetched.json() == expected
    assert "s3cr3t" not in fetched.text
    assert stored_password("warehouse") == "s3cr3t"


def test_only_the_id_and_type_are_required(client):
    response = client.post(CONNECTIONS.path, json={"connection_id": "bare", "conn_type": "http"})
    assert response.status_code == 201
    assert response.json() == {"connection_id": "bare", "conn_type": "http", "description": None,
                               "host": None, "login": None, "schema": None, "port": None,
                               "extra": None}


def test_list_leaves_out_password_and_extra(client):
    CONNECTIONS.create(client, "warehouse")
    response = client.get(CONNECTIONS.path)
    [item] = response.json()["connections"]
    assert set(item) == RETURNED - {"extra"}
    assert "s3cr3t" not in response.text


def test_patch_changes_the_password_without_returning_it(client):
    CONNECTIONS.create(client, "warehouse")
    response = client.patch(CONNECTIONS.url("warehouse"), params={"update_mask": "password"},
                            json={"password": "n3w", "host": "ignored"})
    assert response.status_code == 200
    assert set(response.json()) == RETURNED
    assert response.json()["host"] == CONNECTIONS.sample["host"]
    assert stored_password("warehouse") == "n3w"


@pytest.mark.parametrize("extra", ["{not json", "[1, 2]", '"text"', "3", "null"])
def test_extra_that_is_not_a_json_object_is_422(client, extra):
    assert_problem(client.post(CONNECTIONS.path, json=CONNECTIONS.body("bad", extra=extra)),
                   422, "extra")
    assert client.get(CONNECTIONS.url("bad")).status_code == 404
    CONNECTIONS.create(client, "good")
    assert_problem(client.patch(CONNECTIONS.url("good"), json={"extra": extra}), 422, "extra")
    assert client.get(CONNECTIONS.url("good")).json()["extra"] == CONNECTIONS.sample["extra"]


def test_extra_can_be_cleared_with_null(client):
    CONNECTIONS.create(client, "warehouse")
    response = client.patch(CONNECTIONS.url("warehouse"), json={"extra": None})
    assert response.status_code == 200 and response.json()["extra"] is None


@pytest.mark.parametrize("port", [0, 65536])
def test_port_out_of_range_is_400(client, port):
    assert_problem(client.post(CONNECTIONS.path, json=CONNECTIONS.body("p", port=port)), 400,
                   "port")


# POST /connections/test


@pytest.fixture
def testing_enabled(enable):
    enable("enable_connection_test")


@pytest.fixture
def listening_port():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def test_connection_test_is_forbidden_by_default(client, listening_port):
    body = {"connection_id": "t", "conn_type": "http", "host": "127.0.0.1",
            "port": listening_port}
    assert_problem(client.post(TEST, json=body), 403, "enable_connection_test")


def test_connection_test_succeeds_against_an_open_port(client, testing_enabled, listening_port):
    body = {"connection_id": "t", "conn_type": "http", "host": "127.0.0.1",
            "port": listening_port}
    response = client.post(TEST, json=body)
    assert response.status_code == 200
    assert response.json()["status"] is True
    assert f"127.0.0.1:{listening_port}" in response.json()["message"]
    assert client.get(CONNECTIONS.url("t")).status_code == 404  # tested, not stored


@pytest.mark.parametrize("conn_type", ["http", "postgres"])
def test_connection_test_fails_against_a_closed_port(client, testing_enabled, conn_type):
    body = {"connection_id": "t", "conn_type": conn_type, "host": "127.0.0.1",
            "port": free_port(), "login": "x", "password": "pw-never-echoed"}
    response = client.post(TEST, json=body)
    assert response.status_code == 200
    assert response.json()["status"] is False
    assert "pw-never-echoed" not in response.text


def test_connection_test_without_host_and_port_says_so(client, testing_enabled):
    response = client.post(TEST, json={"connection_id": "t", "conn_type": "http"})
    assert response.status_code == 200
    assert response.json()["status"] is False
    assert "host and port" in response.json()["message"]


def test_connection_test_checks_extra(client, testing_enabled):
    body = {"connection_id": "t", "conn_type": "http", "extra": "[]"}
    assert_problem(client.post(TEST, json=body), 422, "extra")


def test_connection_test_needs_the_connection_type(client, testing_enabled):
    assert_problem(client.post(TEST, json={"connection_id": "t"}), 422, "conn_type")


def test_connection_test_opens_a_database_session(client, testing_enabled, database_url):
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        pytest.skip("needs the PostgreSQL test database (WINDSOCK_TEST_DATABASE=postgresql)")
    body = {"connection_id": "t", "conn_type": "postgres", "host": url.host, "port": url.port,
            "login": url.username, "schema": url.database}
    response = client.post(TEST, json=body)
    assert response.status_code == 200
    assert response.json()["status"] is True, response.json()["message"]


def test_list_orders_by_host(client):
    for connection_id, host in (("a", "m.internal"), ("b", "z.internal"), ("c", "b.internal")):
        CONNECTIONS.create(client, connection_id, host=host)
    assert CONNECTIONS.keys(client.get(CONNECTIONS.path, params={"order_by": "host"})) == \
        ["c", "a", "b"]
    assert CONNECTIONS.keys(client.get(CONNECTIONS.path, params={"order_by": "-host"})) == \
        ["b", "a", "c"]
