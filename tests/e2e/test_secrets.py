"""Secrets never leave: canaries planted through every operation that takes a secret are looked
for in every response body, in the event log (its table and GET /eventLogs) and in the output of
a real api-server process -- also after the database refused writes that carried them.

A response may hold a canary only where the contract says so: a variable's value echoed to the
request that wrote it, a token in the answer that issued it (and the CSRF token in the login's).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text

from tests.api.accounts import user_body
from tests.conftest import ADMIN
from tests.support.ports import free_port
from tests.support.server import api_server
from windsock.db.engine import session
from windsock.db.models import Connection, EventLog, User, Variable

API = "/api/v1"
USER = "canary-user"
HASH = re.compile(r"\$argon2")  # no password hash anywhere either
REFUSED = "secrets_test_refused"
# Writes the database refuses, each by a constraint the test adds: table, column, refused value.
REFUSALS = {Connection.__tablename__: ("port", 6543),
            Variable.__tablename__: ("description", "refused"),
            User.__tablename__: ("first_name", "refused")}


@dataclass
class Canaries:
    """Secrets planted by the test, each with the one request (method, path) whose response
    may hold it, if any."""

    values: dict[str, str] = field(default_factory=dict)
    allowed: dict[str, tuple[str, str]] = field(default_factory=dict)

    def new(self, label: str, *, allowed_in: tuple[str, str] | None = None) -> str:
        return self.add(label, f"canary-{label}-{secrets.token_hex(8)}", allowed_in=allowed_in)

    def add(self, label: str, value: str, *, allowed_in: tuple[str, str] | None = None) -> str:
        self.values[label] = value
        if allowed_in:
            self.allowed[label] = allowed_in
        return value

    def hits(self, where: str, haystack: str, request: httpx.Request | None = None) -> list[str]:
        found = [f"{label} in {where}" for label, value in self.values.items()
                 if value in haystack and (request is None or self.allowed.get(label)
                                           != (request.method, request.url.path))]
        return found + ([f"a password hash in {where}"] if HASH.search(haystack) else [])


@pytest.fixture(scope="module")
def server(migrated, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """A real api-server and the file its output (log included) goes to."""
    output = tmp_path_factory.mktemp("secrets") / "api-server.log"
    env = {**migrated, "WINDSOCK__API__ENABLE_CONNECTION_TEST": "True"}
    with api_server(env, output_path=output) as base:
        yield base, output


@dataclass
class Clients:
    """Opens HTTP clients for the server and keeps every response they receive."""

    base: str
    seen: list[httpx.Response] = field(default_factory=list)
    opened: list[httpx.Client] = field(default_factory=list)

    def connect(self, **options) -> httpx.Client:
        client = httpx.Client(base_url=f"{self.base}{API}", timeout=60,
                              event_hooks={"response": [self._keep]}, **options)
        self.opened.append(client)
        return client

    def _keep(self, response: httpx.Response) -> None:
        response.read()
        self.seen.append(response)


@pytest.fixture
def clients(server) -> Iterator[Clients]:
    opened = Clients(server[0])
    yield opened
    for client in opened.opened:
        client.close()


@pytest.fixture
def admin(clients) -> httpx.Client:
    return clients.connect(auth=ADMIN)


def check(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    return response.json() if response.content else {}


def extra_with(**secrets_: str) -> str:
    return json.dumps({"sslmode": "require", "nested": secrets_})


def plant(admin: httpx.Client, clients: Clients, canaries: Canaries) -> None:
    """Send a canary through every operation that takes a secret."""
    check(admin.post("/connections", json={
        "connection_id": "warehouse", "conn_type": "postgres", "port": 5432,
        "password": canaries.new("conn_password"),
        "extra": json.dumps({"api_key": canaries.new("extra_api_key"),
                             "nested": {"client_secret": canaries.new("extra_secret")}})}), 201)
    check(admin.patch("/connections/warehouse", json={
        "password": canaries.new("conn_password_patch"),
        "extra": extra_with(token=canaries.new("extra_token"))}), 200)
    tested = check(admin.post("/connections/test", json={
        "connection_id": "probe", "conn_type": "postgres", "host": "127.0.0.1",
        "port": free_port(), "login": "x", "password": canaries.new("tested_password")}), 200)
    assert tested["status"] is False
    check(admin.post("/variables", json={"key": "db_password", "value": canaries.new(
        "var_post", allowed_in=("POST", f"{API}/variables"))}), 201)
    check(admin.patch("/variables/db_password", json={"value": canaries.new(
        "var_patch", allowed_in=("PATCH", f"{API}/variables/db_password"))}), 200)
    check(admin.post("/users", json=user_body(USER, password=canaries.new("user_create"),
                                              roles=[{"name": "Viewer"}])), 201)
    # Too short: refused by validation, whose detail names the field but not the value.
    short = canaries.add("short_password", f"c{secrets.token_hex(3)}")
    check(admin.post("/users", json=user_body("short", password=short)), 400)
    password = canaries.new("user_patch")
    check(admin.patch(f"/users/{USER}", json={"password": password}), 200)

    anonymous = clients.connect()
    login = check(anonymous.post("/auth/login", json={"username": USER, "password": password}),
                  200)
    canaries.add("csrf", login["csrf_token"], allowed_in=("POST", f"{API}/auth/login"))
    canaries.add("session_cookie", anonymous.cookies["windsock_session"])
    check(anonymous.post("/auth/logout", headers={"X-CSRF-Token": login["csrf_token"]}), 204)
    access = check(anonymous.post("/auth/token", json={"username": USER, "password": password}),
                   200)["access_token"]
    canaries.add("access_token", access, allowed_in=("POST", f"{API}/auth/token"))
    personal = check(clients.connect(headers={"Authorization": f"Bearer {access}"})
                     .post("/auth/tokens", json={"name": "ci"}), 201)["token"]
    canaries.add("personal_token", personal, allowed_in=("POST", f"{API}/auth/tokens"))
    check(clients.connect(headers={"Authorization": f"Bearer {personal}"}).get("/auth/tokens"),
          200)

    for operation in ("/auth/login", "/auth/token"):
        check(anonymous.post(operation, json={
            "username": USER, "password": canaries.new(f"wrong_password{operation}")}), 401)
    basic = base64.b64encode(f"{USER}:{canaries.new('wrong_basic')}".encode()).decode()
    check(anonymous.get("/version", headers={"Authorization": "Basic " + canaries.add(
        "basic_header", basic)}), 401)


def read_back(admin: httpx.Client) -> None:
    """Read what was written, the way a curious caller would."""
    for path in ("/connections", "/connections/warehouse", "/variables", f"/users/{USER}",
                 "/eventLogs"):
        check(admin.get(path, params={"limit": 100} if path == "/eventLogs" else None), 200)


def search(canaries: Canaries, clients: Clients, log_file: Path) -> list[str]:
    """Where the canaries were found: every response, the event log table, the server's output."""
    hits = [hit for response in clients.seen for hit in canaries.hits(
        f"the response to {response.request.method} {response.request.url.path}",
        response.text, response.request)]
    with session() as sess:
        rows = sess.execute(select(EventLog.__table__)).all()
    assert rows, "the operations left no event log rows"
    hits += canaries.hits("the event_log table", "\n".join(map(str, rows)))
    hits += canaries.hits("the server's output", log_file.read_text())
    return hits


def test_no_canary_leaves_through_responses_the_event_log_or_the_log(server, clients, admin):
    canaries = Canaries()
    plant(admin, clients, canaries)
    read_back(admin)
    assert "POST /api/v1/auth/login" in server[1].read_text()  # the access log is captured
    assert search(canaries, clients, server[1]) == []


@pytest.fixture
def refusing_database(migrated) -> Iterator[None]:
    """Each table of REFUSALS refuses a write of its refused value, by a check constraint
    (PostgreSQL: its error quotes the whole failing row) or a trigger (SQLite)."""
    with session() as sess:
        postgres = sess.get_bind().dialect.name == "postgresql"
        for table, (column, value) in REFUSALS.items():
            if postgres:
                sess.execute(text(f'ALTER TABLE "{table}" ADD CONSTRAINT {REFUSED}_{table} '
                                  f"CHECK ({column} IS DISTINCT FROM {value!r}) NOT VALID"))
            else:
                sess.execute(text(f'CREATE TRIGGER {REFUSED}_{table} BEFORE UPDATE ON "{table}" '
                                  f"WHEN NEW.{column} = {value!r} "
                                  f"BEGIN SELECT RAISE(ABORT, '{REFUSED}_{table}'); END"))
    yield
    with session() as sess:
        for table in REFUSALS:
            sess.execute(text(f'ALTER TABLE "{table}" DROP CONSTRAINT {REFUSED}_{table}'
                              if postgres else f"DROP TRIGGER {REFUSED}_{table}"))


def test_no_canary_leaves_when_the_database_refuses_the_write(server, clients, admin,
                                                               refusing_database):
    canaries = Canaries()
    plant(admin, clients, canaries)
    refused = {
        "/connections/warehouse": {"port": REFUSALS[Connection.__tablename__][1],
                                   "password": canaries.new("refused_password"),
                                   "extra": extra_with(api_key=canaries.new("refused_extra"))},
        "/variables/db_password": {"value": canaries.new("refused_value"),
                                   "description": REFUSALS[Variable.__tablename__][1]},
        f"/users/{USER}": {"password": canaries.new("refused_user_password"),
                           "first_name": REFUSALS[User.__tablename__][1]},
    }
    for path, body in refused.items():
        check(admin.patch(path, json=body), 500)
    read_back(admin)
    log = server[1].read_text()
    for table in REFUSALS:  # each refusal is logged, by the constraint's name
        assert f"{REFUSED}_{table}" in log
    assert search(canaries, clients, server[1]) == []
