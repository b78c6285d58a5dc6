"""Built-in roles are synced on migrate: created with exactly the model's permissions, and put
back when someone changed them in the database."""

from __future__ import annotations

from sqlalchemy import select

from windsock.db import migrate
from windsock.db.engine import session
from windsock.db.models import Role
from windsock.security.model import built_in_roles
from windsock.security.roles import permission


def _pairs(role_name: str) -> set[tuple[str, str]]:
    with session() as sess:
        role = sess.scalars(select(Role).where(Role.name == role_name)).one()
        return {(p.action.name, p.resource.name) for p in role.permissions}


def test_every_built_in_role_holds_exactly_its_permissions(migrated):
    for name, pairs in built_in_roles().items():
        assert _pairs(name) == pairs, name


def test_the_roles_nest_as_documented():
    roles = built_in_roles()
    assert roles["Public"] == set()
    assert roles["Viewer"] < roles["User"] < roles["Op"] < roles["Admin"]
    assert ("can_access", "API") in roles["Viewer"]
    assert ("can_create", "Connections") in roles["Op"] - roles["User"]
    assert ("can_delete", "Users") in roles["Admin"] - roles["Op"]


def test_migrate_puts_a_changed_built_in_role_back(migrated):
    with session() as sess:
        viewer = sess.scalars(select(Role).where(Role.name == "Viewer")).one()
        viewer.permissions = [permission(sess, "can_delete", "Variables")]
    assert _pairs("Viewer") == {("can_delete", "Variables")}
    migrate.upgrade()
    assert _pairs("Viewer") == built_in_roles()["Viewer"]
