"""The permission model: actions on resources, and the built-in roles that bundle them.

A permission is an action on a resource. `can_access` on `API` is the API-access privilege
(AIP-32's `can_api_access`): without it no operation may be called. Per-DAG resources are named
`DAG:<dag_id>`; an action on one stands in for the same action on `DAGs` for that DAG only
(`can_create` on a DAG means triggering its runs).
"""

from __future__ import annotations

import re

ACCESS, READ, EDIT, CREATE, DELETE = "can_access", "can_read", "can_edit", "can_create", "can_delete"
ACTIONS = (ACCESS, READ, EDIT, CREATE, DELETE)
CRUD = (READ, EDIT, CREATE, DELETE)
API = "API"
DAGS = "DAGs"
DAG_PREFIX = "DAG:"
API_ACCESS = (ACCESS, API)

DAG_RESOURCES = ("DAGs", "DAG Runs", "Task Instances", "Task Logs", "XComs", "DAG Code",
                 "DAG Warnings", "Import Errors", "Audit Logs", "Datasets")
OPS_RESOURCES = ("Connections", "Variables", "Pools", "Configurations", "Plugins", "Providers")
ADMIN_RESOURCES = ("Users", "Roles", "Permissions")
RESOURCES = (API, *DAG_RESOURCES, *OPS_RESOURCES, *ADMIN_RESOURCES)
_DAG_ID = re.compile(r"^[A-Za-z0-9_.-]{1,250}$")

Pair = tuple[str, str]


def dag_resource(dag_id: str) -> str:
    return f"{DAG_PREFIX}{dag_id}"


def is_valid_pair(action: str, resource: str) -> bool:
    """Whether the action × resource pair belongs to the model (roles may only hold those)."""
    if resource == API:
        return action == ACCESS
    if resource.startswith(DAG_PREFIX):
        return action in CRUD and bool(_DAG_ID.match(resource[len(DAG_PREFIX):]))
    return resource in RESOURCES and action in CRUD


def _viewer() -> set[Pair]:
    return {API_ACCESS, *((READ, r) for r in DAG_RESOURCES)}


def _user() -> set[Pair]:
    return _viewer() | {(a, r) for a in (EDIT, CREATE, DELETE)
                        for r in ("DAGs", "DAG Runs", "Task Instances")}


def _op() -> set[Pair]:
    return (_user() | {(a, r) for a in CRUD for r in ("Connections", "Pools", "Variables")}
            | {(a, "Datasets") for a in (CREATE, DELETE)}
            | {(READ, r) for r in ("Configurations", "Plugins", "Providers")})


def _admin() -> set[Pair]:
    return {API_ACCESS} | {(a, r) for a in CRUD for r in RESOURCES if r != API
                           if is_valid_pair(a, r)}


def built_in_roles() -> dict[str, set[Pair]]:
    """Each built-in role and exactly the permissions it holds."""
    return {"Admin": _admin(), "Op": _op(), "User": _user(), "Viewer": _viewer(), "Public": set()}


BUILT_IN_ROLES = tuple(built_in_roles())
