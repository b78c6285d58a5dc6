"""Users and roles made through the API, for the tests of users, roles and permissions."""

from __future__ import annotations

import secrets
from typing import Any

from tests.api.helpers import API, assert_problem

USERS = f"{API}/users"
ROLES = f"{API}/roles"
PERMISSIONS = f"{API}/permissions"
PASSWORD = "correct-horse-battery"
API_ACCESS = ("can_access", "API")


def fresh_name(prefix: str) -> str:
    """A username used by one test only, so that nothing one test left behind for a name (such
    as a remembered password check) can touch another."""
    return f"{prefix}-{secrets.token_hex(4)}"


def user_body(username: str, /, **fields: Any) -> dict[str, Any]:
    return {"username": username, "email": f"{username}@example.org", "first_name": "Jane",
            "last_name": "Doe", "password": PASSWORD, **fields}


def create_user(client, username: str, /, *roles: str, **fields: Any) -> dict[str, Any]:
    """Create a user holding `roles` (the default, Public, when none are named)."""
    if roles:
        fields["roles"] = [{"name": role} for role in roles]
    response = client.post(USERS, json=user_body(username, **fields))
    assert response.status_code == 201, response.text
    return response.json()


def actions(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    """A role's `actions` from (action, resource) pairs."""
    return [{"action": {"name": action}, "resource": {"name": resource}}
            for action, resource in pairs]


def create_role(client, name: str, *pairs: tuple[str, str]) -> dict[str, Any]:
    response = client.post(ROLES, json={"name": name, "actions": actions(*pairs)})
    assert response.status_code == 201, response.text
    return response.json()


def pairs_of(role: dict[str, Any]) -> list[tuple[str, str]]:
    return [(item["action"]["name"], item["resource"]["name"]) for item in role["actions"]]


# The single-resource conventions users and roles share with the resources of
# test_http_conventions.py, for one item at `url` that `change` (a PATCH body) alters.


def assert_missing_everywhere(client, url: str, name: str, change: dict[str, Any]) -> None:
    """GET, PATCH and DELETE of a missing item are 404 naming it."""
    assert_problem(client.get(url), 404, f"'{name}'")
    assert_problem(client.patch(url, json=change), 404, f"'{name}'")
    assert_problem(client.delete(url), 404, f"'{name}'")


def assert_conditional_requests(client, url: str, change: dict[str, Any]) -> None:
    """If-None-Match is 304 while the ETag matches; a stale If-Match stops PATCH and DELETE
    (412) and the current one lets them through."""
    etag = client.get(url).headers["etag"]
    cached = client.get(url, headers={"If-None-Match": etag})
    assert cached.status_code == 304 and cached.content == b""
    stale = {"If-Match": '"0000"'}
    assert_problem(client.patch(url, json=change, headers=stale), 412)
    assert_problem(client.delete(url, headers=stale), 412)
    patched = client.patch(url, json=change, headers={"If-Match": etag})
    assert patched.status_code == 200, patched.text
    assert patched.headers["etag"] != etag
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 200
    assert_problem(client.delete(url, headers={"If-Match": etag}), 412)
    current = {"If-Match": patched.headers["etag"]}
    assert client.delete(url, headers=current).status_code == 204
