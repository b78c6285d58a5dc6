"""How soon a change of roles or permissions reaches the requests of the users holding them
(each API process remembers a user's permissions for a moment)."""

from __future__ import annotations

import time

from sqlalchemy import delete, select

from tests.api.accounts import (API_ACCESS, PASSWORD, ROLES, actions, create_role, create_user,
                                fresh_name)
from tests.api.helpers import API
from windsock.db.engine import session
from windsock.db.models import Role, role_permission
from windsock.security import authorization

POOLS = f"{API}/pools"
POOL_READER = ("can_read", "Pools")


def pools_status(client, username: str) -> int:
    return client.get(POOLS, auth=(username, PASSWORD)).status_code


def test_a_role_changed_through_the_api_applies_to_the_next_request(client):
    role, username = fresh_name("role"), fresh_name("user")
    create_role(client, role, API_ACCESS)
    create_user(client, username, role)
    assert pools_status(client, username) == 403
    response = client.patch(f"{ROLES}/{role}", json={"actions": actions(API_ACCESS, POOL_READER)})
    assert response.status_code == 200, response.text
    assert pools_status(client, username) == 200
    response = client.patch(f"{ROLES}/{role}", json={"actions": actions(API_ACCESS)})
    assert response.status_code == 200, response.text
    assert pools_status(client, username) == 403


def test_a_role_changed_by_another_process_applies_within_the_cache_time(client):
    """A change this process did not make (here a plain SQL statement, as another API process's
    commit looks from here) reaches requests within PERMISSION_CACHE_SECONDS."""
    role, username = fresh_name("role"), fresh_name("user")
    create_role(client, role, API_ACCESS, POOL_READER)
    create_user(client, username, role)
    assert pools_status(client, username) == 200
    with session() as sess:
        role_id = sess.scalar(select(Role.id).where(Role.name == role))
        sess.execute(delete(role_permission).where(role_permission.c.role_id == role_id))
    changed = time.monotonic()
    while pools_status(client, username) != 403:
        assert time.monotonic() - changed < authorization.PERMISSION_CACHE_SECONDS + 1
        time.sleep(0.1)
