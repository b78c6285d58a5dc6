"""Masking secrets where the contract lets a body through: a variable's value when the key comes
from the path, and sensitive keys inside a connection's `extra` (responses and event log)."""

import json

from sqlalchemy import select

from tests.api.helpers import API, CONNECTIONS, VARIABLES
from windsock.db.engine import session
from windsock.db.models import Connection

EXTRA = {"sslmode": "require", "api_key": "k-canary", "auth": {"client_secret": "s-canary"},
         "hosts": [{"name": "a", "token": "t-canary"}]}
MASKED_EXTRA = {"sslmode": "require", "api_key": "***", "auth": {"client_secret": "***"},
                "hosts": [{"name": "a", "token": "***"}]}


def logged_bodies(client) -> list[dict]:
    entries = client.get(f"{API}/eventLogs").json()["event_logs"]
    return [json.loads(entry["extra"])["body"] for entry in entries]


def stored_extra(connection_id: str) -> dict:
    with session() as sess:
        return json.loads(sess.scalar(select(Connection.extra)
                                      .where(Connection.conn_id == connection_id)))


def test_a_sensitive_variable_patched_by_its_path_key_is_masked(client):
    VARIABLES.create(client, "db_password", value="first-canary")
    response = client.patch(VARIABLES.url("db_password"), json={"value": "second-canary"})
    assert response.status_code == 200, response.text
    assert logged_bodies(client) == [
        {"key": "db_password", "value": "***", "description": "Region of the export."},
        {"value": "***"}]


def test_sensitive_keys_inside_extra_are_masked_in_responses_and_the_event_log(client):
    created = CONNECTIONS.create(client, "warehouse", extra=json.dumps(EXTRA))
    fetched = client.get(CONNECTIONS.url("warehouse")).json()
    assert json.loads(created["extra"]) == json.loads(fetched["extra"]) == MASKED_EXTRA
    [body] = logged_bodies(client)
    assert body["password"] == "***"
    assert json.loads(body["extra"]) == MASKED_EXTRA
    assert stored_extra("warehouse") == EXTRA


def test_patching_back_the_masked_extra_keeps_the_secrets(client):
    CONNECTIONS.create(client, "warehouse", extra=json.dumps(EXTRA))
    extra = json.loads(client.get(CONNECTIONS.url("warehouse")).json()["extra"])
    extra["sslmode"] = "verify-full"
    extra["auth"]["client_secret"] = "s-new"
    response = client.patch(CONNECTIONS.url("warehouse"), json={"extra": json.dumps(extra)})
    assert response.status_code == 200, response.text
    assert stored_extra("warehouse") == {**EXTRA, "sslmode": "verify-full",
                                         "auth": {"client_secret": "s-new"}}
