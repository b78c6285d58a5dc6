"""Roles in the database: the built-in ones kept in step with the model, permission rows on demand."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from windsock.db.models import Action, Permission, Resource, Role
from windsock.security.model import ACTIONS, RESOURCES, Pair, built_in_roles, is_valid_pair


def _named(sess: Session, model: type, name: str):
    row = sess.scalar(select(model).where(model.name == name))
    if row is None:
        row = model(name=name)
        sess.add(row)
        sess.flush()
    return row


def permission(sess: Session, action: str, resource: str) -> Permission:
    """The permission row for the pair, created (with its action and resource) if missing."""
    if not is_valid_pair(action, resource):
        raise ValueError(f"{action} on {resource} is not a permission of the model.")
    act, res = _named(sess, Action, action), _named(sess, Resource, resource)
    row = sess.scalar(select(Permission).where(Permission.action_id == act.id,
                                               Permission.resource_id == res.id))
    if row is None:
        row = Permission(action=act, resource=res)
        sess.add(row)
        sess.flush()
    return row


def permissions(sess: Session, pairs: set[Pair]) -> list[Permission]:
    return [permission(sess, action, resource) for action, resource in sorted(pairs)]


def sync_built_in_roles(sess: Session) -> None:
    """Create every global permission and give each built-in role exactly its permissions."""
    for resource in RESOURCES:
        for action in ACTIONS:
            if is_valid_pair(action, resource):
                permission(sess, action, resource)
    for name, pairs in built_in_roles().items():
        role = _named(sess, Role, name)
        role.permissions = permissions(sess, pairs)
