"""Roles from an Airflow 2 deployment (`windsock roles import FILE`).

Two JSON shapes are read, both written by Airflow 2's command line:

- `airflow roles export FILE`: a list of role names (the custom roles; Airflow leaves its built-in
  ones out). Each becomes a Windsock role without permissions.
- `airflow roles list --permission --output json` (which the FAB provider's `roles export` also
  writes): a list of `{"name", "resource", "action"}` objects, `action` being one action or several
  separated by commas. Each role gets the permissions Windsock's model has.

Airflow's resources and actions carry over by name, `DAG:<dag_id>` included; `ImportError` is
`Import Errors` here. What only the web UI had (menus, `menu_access`, `Website`, `My Profile`,
...) has no counterpart and is skipped, and reported. Airflow 2 let any authenticated user call
its stable API, so every imported role also gets API access (`can_access` on `API`). Airflow's
built-in role names (Admin, Op, User, Viewer, Public) are Windsock's built-in roles and are left
as they are; a custom role that exists already keeps its permissions and gains the imported ones.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from windsock.db.engine import session
from windsock.db.models import Role
from windsock.security import roles
from windsock.security.model import API_ACCESS, BUILT_IN_ROLES, Pair, is_valid_pair

RENAMED_RESOURCES = {"ImportError": "Import Errors"}
ROLE_NAME_LENGTH = 64


class ImportFileError(ValueError):
    """The file is not one of the shapes Airflow 2 writes."""


@dataclass
class Imported:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    built_in: list[str] = field(default_factory=list)
    skipped: set[Pair] = field(default_factory=set)  # Airflow permissions with no counterpart

    def summary(self) -> str:
        lines = [f"Created {len(self.created)} role(s): {', '.join(self.created) or '-'}.",
                 f"Added permissions to {len(self.updated)} existing role(s): "
                 f"{', '.join(self.updated) or '-'}."]
        if self.built_in:
            lines.append(f"Left the built-in role(s) {', '.join(self.built_in)} as they are.")
        if self.skipped:
            lines.append(f"Skipped {len(self.skipped)} permission(s) of Airflow's web UI: "
                         + ", ".join(f"{a} on {r}" for a, r in sorted(self.skipped)) + ".")
        return "\n".join(lines)


def _entries(document: object) -> dict[str, set[Pair]]:
    """Each role name in the file with the Airflow permissions it lists."""
    if not isinstance(document, list):
        raise ImportFileError("The file must hold a JSON list, as `airflow roles export` or "
                              "`airflow roles list --permission --output json` write it.")
    wanted: dict[str, set[Pair]] = defaultdict(set)
    for index, entry in enumerate(document):
        if isinstance(entry, str):
            name, pairs = entry, set()
        elif isinstance(entry, dict) and all(isinstance(entry.get(k), str)
                                             for k in ("name", "resource", "action")):
            name = entry["name"]
            pairs = {(action.strip(), entry["resource"])
                     for action in entry["action"].split(",") if action.strip()}
        else:
            raise ImportFileError(f"Entry {index} is neither a role name nor an object with "
                                  "the strings name, resource and action.")
        if not 0 < len(name) <= ROLE_NAME_LENGTH:
            raise ImportFileError(f"Entry {index}: a role name has 1 to {ROLE_NAME_LENGTH} "
                                  "characters.")
        wanted[name] |= pairs
    return wanted


def _translated(pairs: set[Pair], result: Imported) -> set[Pair]:
    kept = {API_ACCESS}
    for action, resource in pairs:
        pair = (action, RENAMED_RESOURCES.get(resource, resource))
        if is_valid_pair(*pair):
            kept.add(pair)
        else:
            result.skipped.add((action, resource))
    return kept


def import_roles(path: Path) -> Imported:
    """Create or extend the roles listed in the file, in one transaction."""
    try:
        wanted = _entries(json.loads(path.read_text(encoding="utf-8")))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ImportFileError(f"{path} is not JSON: {error}.") from None
    result = Imported()
    with session() as sess:
        existing = {role.name: role for role in sess.scalars(
            select(Role).where(Role.name.in_(wanted)))}
        for name, pairs in sorted(wanted.items()):
            if name in BUILT_IN_ROLES:
                result.built_in.append(name)
                continue
            granted = roles.permissions(sess, _translated(pairs, result))
            role = existing.get(name)
            if role is None:
                sess.add(Role(name=name, permissions=granted))
                result.created.append(name)
            else:
                role.permissions = sorted({*role.permissions, *granted}, key=roles.pair_of)
                result.updated.append(name)
    return result
