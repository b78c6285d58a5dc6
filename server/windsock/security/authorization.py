"""Authorization: what the authenticated caller may do, and the SQL that limits lists to it.

Each operation's needs are declared once, in the contract's `x-permissions`; `missing` compares
them with the caller's permissions before any work is done. A need on `DAGs` is met by the same
action on `DAG:<dag_id>` for the DAG named in the path; without one DAG in the path (a list, or
`~`) it is met by that action on any single DAG, and the operation then works only on those DAGs
(`dag_filter`).

A user's permissions are read once per PERMISSION_CACHE_SECONDS in each process rather than on
every request: a change to roles, permissions or a user's roles takes effect within that time in
every API process, and at once in the process that made it (its commit empties the cache). Who
the caller is, and whether they are active, is still checked on every request (see credentials).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from connexion import context
from sqlalchemy import ColumnElement, Select, event, func, select, true
from sqlalchemy.orm import Session

from windsock.db.engine import session
from windsock.db.models import (Action, Permission, Resource, Role, User, role_permission,
                                user_role)
from windsock.security.backends import Identity
from windsock.security.model import API_ACCESS, DAG_PREFIX, DAGS, READ, Pair, dag_resource

ALL_DAGS = "~"
PERMISSION_CACHE_SECONDS = 2.0
SECURITY_MODELS = (User, Role, Permission)
_CHANGED = "windsock_security_changed"
_permissions: dict[tuple[int, str], tuple[float, frozenset[Pair]]] = {}  # user: (until, pairs)


@dataclass(frozen=True)
class Principal:
    """The caller: who they are and every action × resource pair their roles grant."""

    user_id: int
    username: str
    via: str
    permissions: frozenset[Pair]

    def on_every_dag(self, action: str) -> bool:
        return (action, DAGS) in self.permissions

    def on_some_dag(self, action: str) -> bool:
        return any(a == action and r.startswith(DAG_PREFIX) for a, r in self.permissions)


def _pairs_of_user(user_id: int) -> Select:
    return (select(Action.name, Resource.name)
            .select_from(user_role)
            .join(role_permission, role_permission.c.role_id == user_role.c.role_id)
            .join(Permission, Permission.id == role_permission.c.permission_id)
            .join(Action, Action.id == Permission.action_id)
            .join(Resource, Resource.id == Permission.resource_id)
            .where(user_role.c.user_id == user_id))


def principal(identity: Identity) -> Principal:
    return Principal(identity.user_id, identity.username, identity.via,
                     _permissions_of(identity))


def _permissions_of(identity: Identity) -> frozenset[Pair]:
    """The user's permissions, as read at most PERMISSION_CACHE_SECONDS ago (keyed by name too:
    a user deleted and another created may share an id)."""
    key, now = (identity.user_id, identity.username), time.monotonic()
    known = _permissions.get(key)
    if known is not None and now < known[0]:
        return known[1]
    with session() as sess:
        pairs = frozenset((a, r) for a, r in sess.execute(_pairs_of_user(identity.user_id)))
    _permissions[key] = (now + PERMISSION_CACHE_SECONDS, pairs)
    return pairs


@event.listens_for(Session, "before_flush")
def _note_security_changes(sess: Session, _context, _instances) -> None:
    if any(isinstance(row, SECURITY_MODELS) for rows in (sess.new, sess.dirty, sess.deleted)
           for row in rows):
        sess.info[_CHANGED] = True


def forget_permissions() -> None:
    """Read every user's permissions from the database when next needed."""
    _permissions.clear()


@event.listens_for(Session, "after_commit")
def _after_commit(sess: Session) -> None:
    if sess.info.pop(_CHANGED, False):
        forget_permissions()


@event.listens_for(Session, "after_rollback")
def _keep_permissions(sess: Session) -> None:
    sess.info.pop(_CHANGED, None)


def missing(caller: Principal, needs: list[Pair], dag_id: str | None) -> list[Pair]:
    """The declared needs the caller lacks; API access is always needed first."""
    if API_ACCESS not in caller.permissions:
        return [API_ACCESS]
    lacking = []
    for action, resource in needs:
        if (action, resource) in caller.permissions:
            continue
        if resource == DAGS:
            if dag_id and dag_id != ALL_DAGS:
                if (action, dag_resource(dag_id)) in caller.permissions:
                    continue
            elif caller.on_some_dag(action):
                continue
        lacking.append((action, resource))
    return lacking


def current() -> Principal:
    """The caller of the operation being served (set by the API's guard)."""
    return context.context["token_info"]


def dag_filter(column: ColumnElement, action: str = READ) -> ColumnElement:
    """A condition keeping rows whose DAG (`column`) the caller may `action`, as a subquery."""
    caller = current()
    if caller.on_every_dag(action):
        return true()
    prefix = len(DAG_PREFIX)
    dag_ids = (_pairs_of_user(caller.user_id)
               .with_only_columns(func.substr(Resource.name, prefix + 1))
               .where(Action.name == action, Resource.name.startswith(DAG_PREFIX)))
    return column.in_(dag_ids)
