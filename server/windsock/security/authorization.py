"""Authorization: what the authenticated caller may do, and the SQL that limits lists to it.

Each operation's needs are declared once, in the contract's `x-permissions`; `missing` compares
them with the caller's permissions before any work is done. A need on `DAGs` is met by the same
action on `DAG:<dag_id>` for the DAG named in the path; without one DAG in the path (a list, or
`~`) it is met by that action on any single DAG, and the operation then works only on those DAGs
(`dag_filter`).
"""

from __future__ import annotations

from dataclasses import dataclass

from connexion import context
from sqlalchemy import ColumnElement, Select, func, select, true

from windsock.db.engine import session
from windsock.db.models import Action, Permission, Resource, role_permission, user_role
from windsock.security.backends import Identity
from windsock.security.model import API_ACCESS, DAG_PREFIX, DAGS, READ, Pair, dag_resource

ALL_DAGS = "~"


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
    with session() as sess:
        pairs = frozenset((a, r) for a, r in sess.execute(_pairs_of_user(identity.user_id)))
    return Principal(identity.user_id, identity.username, identity.via, pairs)


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
