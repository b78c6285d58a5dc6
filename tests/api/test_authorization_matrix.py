"""The authorization matrix, generated from the contract: each operation's `security` and
`x-permissions` decide who gets past the guard.

For every operation but the public ones (`security: []`):

- allowed: a user holding API access and exactly the declared permissions gets neither 401
  nor 403 (the request, built from the contract's examples, may still be 404, 422, ...);
- missing: for each declared permission, a user holding all the others gets 403 naming it;
- anonymous: without credentials the answer is 401 with `WWW-Authenticate`, or, where `{}` is
  among the security alternatives (the token exchange), not a success without body credentials;
- no API access: a user holding every declared permission but not API access gets 403 naming
  `can_access on API`.

Needs on `DAGs` are granted as declared, on every DAG; per-DAG grants are in test_dag_permissions.

Measured size (2026-12-05): 123 operations (the contract's, the experimental API's switched on
here among them, less the 2 public ones) x 4 kinds of case = 552 cases: 123 allowed + 183
missing (one per declared permission) + 123 anonymous + 123 without API access. The users are
made directly in the database, all with one cheaply hashed password.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, replace

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from windsock.db.engine import session
from windsock.db.models import Role, User
from windsock.security import roles, sessions
from windsock.security.backends import Identity
from windsock.security.model import API_ACCESS, Pair, is_valid_pair

from tests.api.helpers import (
    assert_problem,
    body_example,
    example_value,
    operations,
    security_of,
    spec,
)
from tests.support.ports import free_port
from tests.support.seed import seed_contract_examples

PUBLIC_OPERATIONS = {"get_health", "login"}
PASSWORD = "matrix-password"
# Verifying reads the Argon2 parameters from the hash, so a hash made with the cheapest ones lets
# each new user log in fast, through the same code as any other user.
PASSWORD_HASH = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)


@dataclass(frozen=True)
class Operation:
    """One operation of the contract, and a request to it made from the contract's examples."""

    op_id: str
    method: str
    url: str
    body: object
    needs: tuple[Pair, ...]
    security: tuple[dict, ...]

    @property
    def public(self) -> bool:
        return not self.security

    @property
    def anonymous(self) -> bool:
        return {} in self.security


def declared_needs(operation: dict) -> tuple[Pair, ...]:
    return tuple((p["action"], p["resource"]) for p in operation.get("x-permissions", []))


def walk() -> list[Operation]:
    document = spec()
    return [Operation(op_id, method, url, body_example(document, operation),
                      declared_needs(operation), tuple(security_of(document, operation)))
            for op_id, method, url, operation in operations(example_value)]


def local_test_connection(op: Operation) -> Operation:
    """POST /connections/test would contact the example's host: send it to a closed local port."""
    if op.op_id != "test_connection":
        return op
    return replace(op, body={**op.body, "host": "127.0.0.1", "port": free_port()})


def short_wait(op: Operation) -> Operation:
    """The wait for a run would wait up to the example's timeout for the (running) example
    run: `timeout=0` answers at once, after the same checks; `result` names a task, so that
    reading return values needs its permission."""
    if op.op_id != "wait_dag_run_until_finished":
        return op
    return replace(op, url=re.sub(r"timeout=[^&]*", "timeout=0&result=extract", op.url))


OPERATIONS = [short_wait(local_test_connection(op)) for op in walk()]
GUARDED = [op for op in OPERATIONS if not op.public]


def named(pair: Pair) -> str:
    return f"{pair[0]} on {pair[1]}"


def operation_params(ops: list[Operation]) -> list:
    return [pytest.param(op, id=op.op_id) for op in ops]


def missing_params() -> list:
    """(operation, the declared permission left out) for every declared permission."""
    return [pytest.param(op, need, id=f"{op.op_id}-without-{named(need).replace(' ', '-')}")
            for op in GUARDED for need in op.needs]


@pytest.fixture(autouse=True)
def operations_switched_on(monkeypatch) -> None:
    """Config and connection tests answer 403 while switched off; here only the guard may."""
    for option in ("EXPOSE_CONFIG", "ENABLE_CONNECTION_TEST", "ENABLE_EXPERIMENTAL_API"):
        monkeypatch.setenv(f"WINDSOCK__API__{option}", "True")


def user_holding(pairs: set[Pair]) -> tuple[str, str]:
    """Credentials of a new user whose one role holds exactly `pairs`."""
    name = f"matrix-{secrets.token_hex(6)}"
    with session() as sess:
        role = Role(name=name, permissions=roles.permissions(sess, pairs))
        sess.add(User(username=name, email=f"{name}@example.org", password_hash=PASSWORD_HASH,
                      active=True, roles=[role]))
    return name, PASSWORD


def takes_basic(op: Operation) -> bool:
    return any("Basic" in requirement for requirement in op.security)


def session_headers(username: str) -> dict[str, str]:
    """A login session's cookie and CSRF token, for operations taking the session cookie only."""
    with session() as sess:
        user_id = sess.scalar(select(User.id).where(User.username == username))
    secret, csrf, _ = sessions.start(Identity(user_id, username, "session"))
    return {"Cookie": f"{sessions.COOKIE}={secret}", sessions.CSRF_HEADER: csrf}


def call(client, op: Operation, pairs: set[Pair] | None):
    """Send the operation's request as a user holding `pairs`, or without credentials; by basic
    auth, or by a session where the operation does not take basic auth."""
    if pairs is None:
        return client.request(op.method, op.url, json=op.body, auth=None)
    credentials = user_holding(pairs)
    if takes_basic(op):
        return client.request(op.method, op.url, json=op.body, auth=credentials)
    return client.request(op.method, op.url, json=op.body, auth=None,
                          headers=session_headers(credentials[0]))


def assert_forbidden_for(response, lacking: Pair, held: set[Pair]) -> None:
    """403 naming the lacking permission and none of those the caller holds."""
    detail = assert_problem(response, 403, named(lacking))["detail"]
    assert not [pair for pair in held if named(pair) in detail], detail


# The contract's declarations


def test_only_health_and_login_are_public():
    assert {op.op_id for op in OPERATIONS if op.public} == PUBLIC_OPERATIONS


def test_every_operation_declares_valid_permissions():
    undeclared = [op_id for op_id, _, _, operation in operations()
                  if "x-permissions" not in operation]
    assert not undeclared, "operations without x-permissions"
    invalid = [(op.op_id, pair) for op in OPERATIONS for pair in op.needs
               if not is_valid_pair(*pair)]
    assert not invalid, "pairs that are not permissions of the model"


# The matrix


@pytest.fixture
def examples_seeded(migrated) -> None:
    """The objects the contract's examples name, so that allowed requests reach real ones."""
    seed_contract_examples()


@pytest.mark.parametrize("op", operation_params(GUARDED))
def test_the_declared_permissions_are_enough(client, examples_seeded, op):
    response = call(client, op, {API_ACCESS, *op.needs})
    assert response.status_code not in (401, 403), response.text
    assert response.status_code < 500, response.text


@pytest.mark.parametrize("op, need", missing_params())
def test_each_declared_permission_is_needed(client, op, need):
    held = {API_ACCESS, *op.needs} - {need}
    assert_forbidden_for(call(client, op, held), need, held)


@pytest.mark.parametrize("op", operation_params(GUARDED))
def test_without_credentials_nothing_is_served(client, op):
    if op.anonymous:
        # Served without credentials, but then it needs them in its body.
        response = client.request(op.method, op.url, auth=None)
        assert response.status_code in (401, 422), response.text
        return
    response = call(client, op, None)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"]


@pytest.mark.parametrize("op", operation_params(GUARDED))
def test_api_access_is_needed(client, op):
    held = set(op.needs)
    assert_forbidden_for(call(client, op, held), API_ACCESS, held)
