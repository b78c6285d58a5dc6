"""Role operations: named sets of permissions (action × resource pairs of the permission model).

The built-in roles (Admin, Op, User, Viewer, Public) are synced from the model on every migrate,
so they cannot be changed, renamed or deleted here (409). Deleting a role takes it from every
user who held it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from windsock.api import paging, resources
from windsock.api.problems import Conflict
from windsock.db.engine import session
from windsock.db.models import Role
from windsock.security import roles
from windsock.security.model import BUILT_IN_ROLES, Pair

ORDER_COLUMNS = {"name": Role.name, "role_id": Role.id}


def permission_body(action: str, resource: str) -> dict:
    """A permission as the API shows it: {"action": {"name"}, "resource": {"name"}}."""
    return {"action": {"name": action}, "resource": {"name": resource}}


def _body(role: Role) -> dict:
    pairs = sorted(map(roles.pair_of, role.permissions), key=lambda pair: (pair[1], pair[0]))
    return {"name": role.name, "actions": [permission_body(*pair) for pair in pairs]}


def _find(sess: Session, role_name: str) -> Role:
    return resources.get_or_404(sess, Role.name, role_name, "Role")


def _pairs(actions: list[dict]) -> set[Pair]:
    """The pairs a body's `actions` name (the contract holds them to the permission model)."""
    return {(item["action"]["name"], item["resource"]["name"]) for item in actions}


def _protect(role: Role, change: str) -> None:
    if role.name in BUILT_IN_ROLES:
        raise Conflict(f"{role.name} is a built-in role and cannot be {change}: its permissions "
                       "are synced from the permission model on every migrate. Create a custom "
                       "role with the permissions you need instead.")


def _rename(sess: Session, role: Role, name: str) -> None:
    role.name = name
    resources.flush_or_conflict(sess, f"Role {name!r} already exists.")


def get_roles(limit: int, offset: int, order_by: str):
    with session() as sess:
        return paging.collection(
            sess, select(Role).options(selectinload(Role.permissions)), key="roles",
            serialize=_body, order_by=order_by, columns=ORDER_COLUMNS, primary_key=Role.id,
            limit=limit, offset=offset)


def get_role(role_name: str):
    with session() as sess:
        return resources.single(_body(_find(sess, role_name)))


def post_role(body: dict):
    pairs = _pairs(body["actions"])
    with session() as sess:
        role = Role(name=body["name"])
        sess.add(role)
        # The name is settled before permission rows are looked up (which flushes).
        resources.flush_or_conflict(sess, f"Role {role.name!r} already exists.")
        role.permissions = roles.permissions(sess, pairs)
        return resources.created(_body(role), resources.location(role.name))


def patch_role(role_name: str, body: dict, update_mask: list[str] | None = None):
    with session() as sess:
        role = _find(sess, role_name)
        _protect(role, "changed")
        resources.check_if_match(_body(role))
        changes = resources.changes(body, update_mask)
        pairs = _pairs(changes["actions"]) if "actions" in changes else None
        if "name" in changes:
            _rename(sess, role, changes["name"])
        if pairs is not None:
            role.permissions = roles.permissions(sess, pairs)
        return resources.updated(_body(role))


def delete_role(role_name: str):
    with session() as sess:
        role = _find(sess, role_name)
        _protect(role, "deleted")
        resources.check_if_match(_body(role))
        sess.delete(role)
        return resources.deleted()
