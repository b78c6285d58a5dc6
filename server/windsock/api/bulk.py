"""Bulk changes: lists of `create`, `update` and `delete` actions on one kind of keyed object
(connections, variables, pools), as `PATCH /<collection>` and the command line's imports take
them.

Each entity goes through the single-object operations' own code (`Keyed`), so it is checked and
stored as a POST, PATCH or DELETE of it would be, and fails with the `Problem` that operation
would answer. An action runs in a savepoint of the caller's transaction and each entity in a
savepoint of its own: a failing entity is recorded and the rest are still tried, then an action
with any failure is rolled back whole, while the other actions keep their changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from windsock.api import audit, resources
from windsock.api.guard import authorize
from windsock.api.problems import NotFound, Problem, title_of, type_of
from windsock.db.engine import session
from windsock.security import authorization
from windsock.security.model import CREATE, DELETE, EDIT, Pair

KINDS = ("create", "update", "delete")
ACTION_PERMISSIONS = {"create": CREATE, "update": EDIT, "delete": DELETE}


@dataclass(frozen=True)
class Keyed:
    """What bulk changes need of one kind of object: the single-object operations' code."""

    resource: str  # the permission resource, e.g. "Connections"
    key: str  # the entity field holding the key, e.g. "connection_id"
    find: Callable[[Session, str], Any]  # the locked row, or NotFound
    create: Callable[[Session, dict], Any]  # a new row from an entity, or Conflict
    update: Callable[[Session, Any, dict, list[str] | None], None]  # row, entity, update_mask
    delete: Callable[[Session, Any], None]


def needs(keyed: Keyed, actions: Iterable[dict]) -> list[Pair]:
    """The permissions the actions need: one per kind of action; overwriting on create edits."""
    kinds = set()
    for action in actions:
        kinds.add(action["action"])
        if action.get("action_on_existence") == "overwrite":
            kinds.add("update")
    return [(ACTION_PERMISSIONS[kind], keyed.resource) for kind in KINDS if kind in kinds]


def summary(action: dict, keys: list[str]) -> dict:
    """What an applied action changed, for the event log: its options and keys, no values."""
    return {**{name: value for name, value in action.items() if name != "entities"},
            "keys": keys}


def error(key: str, problem: Problem) -> dict:
    title = problem.title or title_of(problem.status)
    return {"key": key, "type": type_of(title), "title": title, "status": problem.status,
            "detail": problem.detail}


def _existing(sess: Session, keyed: Keyed, key: str) -> Any | None:
    try:
        return keyed.find(sess, key)
    except NotFound:
        return None


def _create(sess: Session, keyed: Keyed, action: dict, entity: dict) -> bool:
    policy = action.get("action_on_existence", "fail")
    if policy != "fail" and (row := _existing(sess, keyed, entity[keyed.key])) is not None:
        if policy == "skip":
            return False
        keyed.update(sess, row, entity, None)
        return True
    keyed.create(sess, entity)  # an existing key is the create operation's own 409
    return True


def _found(sess: Session, keyed: Keyed, action: dict, key: str) -> Any | None:
    """The row to update or delete; None to skip a missing one, NotFound to fail."""
    try:
        return keyed.find(sess, key)
    except NotFound:
        if action.get("action_on_non_existence", "fail") == "skip":
            return None
        raise


def _update(sess: Session, keyed: Keyed, action: dict, entity: dict) -> bool:
    row = _found(sess, keyed, action, entity[keyed.key])
    if row is not None:
        keyed.update(sess, row, entity, action.get("update_mask"))
    return row is not None


def _delete(sess: Session, keyed: Keyed, action: dict, key: str) -> bool:
    row = _found(sess, keyed, action, key)
    if row is not None:
        keyed.delete(sess, row)
    return row is not None


STEPS = {"create": _create, "update": _update, "delete": _delete}


def _action(sess: Session, keyed: Keyed, action: dict) -> dict[str, list]:
    step = STEPS[action["action"]]
    outcome: dict[str, list] = {"success": [], "skipped": [], "errors": []}
    whole = sess.begin_nested()
    for entity in action["entities"]:
        key = entity if isinstance(entity, str) else entity[keyed.key]
        try:
            with sess.begin_nested():
                applied = step(sess, keyed, action, entity)
        except Problem as problem:
            outcome["errors"].append(error(key, problem))
            continue
        outcome["success" if applied else "skipped"].append(key)
    if outcome["errors"]:
        whole.rollback()
        outcome["success"] = []
    else:
        whole.commit()
    return outcome


def apply(sess: Session, keyed: Keyed, actions: list[dict],
          record: Callable[[dict, list[str]], None]) -> dict[str, dict[str, list]]:
    """Apply the actions in order; `record(action, keys)` is called for each action that changed
    something. The answer: per kind of action present, the keys that succeeded, the keys skipped
    and the errors."""
    results: dict[str, dict[str, list]] = {}
    for action in actions:
        outcome = _action(sess, keyed, action)
        merged = results.setdefault(action["action"], {"success": [], "skipped": [], "errors": []})
        for name, items in outcome.items():
            merged[name].extend(items)
        if outcome["success"]:
            record(action, outcome["success"])
    return results


def answer(keyed: Keyed, body: dict, operation_id: str):
    """A bulk operation's answer: 403 naming every permission the actions need and the caller
    lacks, before anything changes; otherwise the actions applied, with an event log row for
    each that changed something."""
    authorize(authorization.current(), needs(keyed, body["actions"]))
    with session() as sess:
        def record(action: dict, keys: list[str]) -> None:
            sess.add(audit.itemized_row(operation_id, summary(action, keys)))

        return resources.ok(apply(sess, keyed, body["actions"], record))
