"""Roles in the database: the built-in ones kept in step with the model, permission rows on demand."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from windsock.db.models import Action, Permission, Resource, Role
from windsock.security.model import ACTIONS, RESOURCES, Pair, built_in_roles, is_valid_pair


def _get_or_create(sess: Session, model: type, **key):
    """The row with these column values, inserted if missing. Two transactions inserting the
    same row at once both succeed: the loser's savepoint rolls back and it reads the winner's."""
    query = select(model).filter_by(**key)
    row = sess.scalar(query)
    if row is None:
        try:
            with sess.begin_nested():
                row = model(**key)
                sess.add(row)
        except IntegrityError:
            row = sess.scalars(query).one()
    return row


def permission(sess: Session, action: str, resource: str) -> Permission:
    """The permission row for the pair, created (with its action and resource) if missing."""
    if not is_valid_pair(action, resource):
        raise ValueError(f"{action} on {resource} is not a permission of the model.")
    act = _get_or_create(sess, Action, name=action)
    res = _get_or_create(sess, Resource, name=resource)
    return _get_or_create(sess, Permission, action_id=act.id, resource_id=res.id)


def pair_of(row: Permission) -> Pair:
    return row.action.name, row.resource.name


def permissions(sess: Session, pairs: set[Pair]) -> list[Permission]:
    """The permission rows of `pairs`: those that exist found in one query, the rest created."""
    resources_named = select(Resource.id).where(Resource.name.in_({r for _, r in pairs}))
    found = {pair_of(row): row for row in sess.scalars(
        select(Permission).where(Permission.resource_id.in_(resources_named)))}
    return [found.get(pair) or permission(sess, *pair) for pair in sorted(pairs)]


def sync_built_in_roles(sess: Session) -> None:
    """Create every global permission and give each built-in role exactly its permissions."""
    for resource in RESOURCES:
        for action in ACTIONS:
            if is_valid_pair(action, resource):
                permission(sess, action, resource)
    for name, pairs in built_in_roles().items():
        role = _get_or_create(sess, Role, name=name)
        role.permissions = permissions(sess, pairs)
