"""Connection operations. The password is write-only: stored, never returned; in `extra`, the
values of sensitive keys are returned masked, and a PATCH that sends the mask back keeps them."""

from __future__ import annotations

import json
import socket

from sqlalchemy import create_engine, select
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from windsock import config
from windsock.api import bulk, paging, resources
from windsock.api.problems import Forbidden, Unprocessable
from windsock.db.engine import session
from windsock.db.models import Connection
from windsock.masking import masked_json, unmasked_json

ORDER_COLUMNS = {"connection_id": Connection.conn_id, "conn_type": Connection.conn_type,
                 "host": Connection.host, "port": Connection.port,
                 "description": Connection.description, "id": Connection.id}
# API field -> model attribute, where they differ.
ATTRIBUTES = {"connection_id": "conn_id"}
DATABASE_DRIVERS = {"postgres": "postgresql+psycopg", "postgresql": "postgresql+psycopg"}
TEST_TIMEOUT_SECONDS = 5


def _item(conn: Connection) -> dict:
    return {"connection_id": conn.conn_id, "conn_type": conn.conn_type,
            "description": conn.description, "host": conn.host, "login": conn.login,
            "schema": conn.schema, "port": conn.port}


def _body(conn: Connection) -> dict:
    return {**_item(conn), "extra": conn.extra and masked_json(conn.extra)}


def _check(body: dict) -> None:
    extra = body.get("extra")
    if extra is None:
        return
    try:
        parsed = json.loads(extra)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise Unprocessable("'extra' must be a JSON object encoded as a string, "
                            'such as "{\\"sslmode\\": \\"require\\"}".')


def _find(sess, connection_id: str) -> Connection:
    return resources.get_or_404(sess, Connection.conn_id, connection_id, "Connection")


def get_connections(limit: int, offset: int, order_by: str):
    with session() as sess:
        return paging.collection(
            sess, select(Connection), key="connections", serialize=_item, order_by=order_by,
            columns=ORDER_COLUMNS, primary_key=Connection.id, limit=limit, offset=offset)


def get_connection(connection_id: str):
    with session() as sess:
        return resources.single(_body(_find(sess, connection_id)))


def _create(sess, body: dict) -> Connection:
    _check(body)
    conn = Connection(**{ATTRIBUTES.get(k, k): v for k, v in body.items()})
    sess.add(conn)
    resources.flush_or_conflict(sess, f"Connection {conn.conn_id!r} already exists.")
    return conn


def _update(_sess, conn: Connection, body: dict, update_mask: list[str] | None) -> None:
    _check(body)
    for field, value in resources.changes(
            body, update_mask, ("connection_id", conn.conn_id)).items():
        if field == "extra" and value is not None:
            value = unmasked_json(value, conn.extra)
        setattr(conn, ATTRIBUTES.get(field, field), value)


KEYED = bulk.Keyed("Connections", "connection_id", _find, _create, _update, Session.delete)


def post_connection(body: dict):
    with session() as sess:
        conn = _create(sess, body)
        return resources.created(_body(conn), resources.location(conn.conn_id))


def patch_connection(connection_id: str, body: dict, update_mask: list[str] | None = None):
    with session() as sess:
        conn = _find(sess, connection_id)
        resources.check_if_match(_body(conn))
        _update(sess, conn, body, update_mask)
        return resources.updated(_body(conn))


def delete_connection(connection_id: str):
    with session() as sess:
        conn = _find(sess, connection_id)
        resources.check_if_match(_body(conn))
        sess.delete(conn)
        return resources.deleted()


def bulk_connections(body: dict):
    return bulk.answer(KEYED, body, "bulk_connections")


def _try_database(body: dict) -> tuple[bool, str]:
    url = URL.create(DATABASE_DRIVERS[body["conn_type"]], username=body.get("login"),
                     password=body.get("password"), host=body.get("host"),
                     port=body.get("port"), database=body.get("schema"))
    engine = create_engine(url, connect_args={"connect_timeout": TEST_TIMEOUT_SECONDS},
                           poolclass=NullPool)
    try:
        with engine.connect():
            return True, f"Connected to the {body['conn_type']} database at {body.get('host')}."
    except Exception as exc:  # any driver error is the test's answer, not a server fault
        return False, f"Could not connect: {type(exc).__name__}: {str(exc).splitlines()[0]}"
    finally:
        engine.dispose()


def _try_tcp(body: dict) -> tuple[bool, str]:
    host, port = body.get("host"), body.get("port")
    if not host or not port:
        return False, (f"No test is available for conn_type {body['conn_type']!r} without "
                       "both host and port.")
    try:
        with socket.create_connection((host, port), timeout=TEST_TIMEOUT_SECONDS):
            return True, f"Opened a TCP connection to {host}:{port}."
    except (OSError, UnicodeError) as exc:
        return False, f"Could not open a TCP connection to {host}:{port}: {exc}"


def test_connection(body: dict):
    if not config.get_bool("api", "enable_connection_test"):
        raise Forbidden("Testing connections is disabled because it makes the server contact "
                        "other hosts. Set [api] enable_connection_test = True in windsock.cfg "
                        "(or WINDSOCK__API__ENABLE_CONNECTION_TEST=True) to enable it.")
    _check(body)
    tester = _try_database if body["conn_type"] in DATABASE_DRIVERS else _try_tcp
    status, message = tester(body)
    return resources.ok({"status": status, "message": message})
