"""The audit trail: every successful mutating API call leaves one event log row.

The row names the operation (`event`), the authenticated user (`owner`), the DAG, run, task and
map index it touched (from the path), and the request body with secrets masked (`extra`). It is
written in the operation's own transaction (`request_transaction`), so a change and its row commit
together and a failed call leaves neither. Operations that check credentials sent in their body
(login, the token exchange) are the exception: a refused attempt must still be counted, so they
commit as they go and their row follows in a transaction of its own.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

import flask
from connexion import context

from windsock.api import idempotency
from windsock.db.engine import request_transaction, session
from windsock.db.models import EventLog
from windsock.masking import masked_mapping

MUTATING_METHODS = frozenset({"post", "put", "patch", "delete"})
READ_ONLY_OPERATIONS = frozenset({"get_dag_runs_batch", "get_task_instances_batch",
                                  "test_connection", "create_backfill_dry_run"})
CHANGING_GET_OPERATIONS = frozenset({"experimental_set_dag_paused"})  # Airflow 2's pause by GET
# Operations that write one row per change they applied (`itemized_row`) instead of their body.
ITEMIZED_OPERATIONS = frozenset({"bulk_connections", "bulk_variables", "bulk_pools"})
PATH_FIELDS = {"dag_id": "dag_id", "task_id": "task_id", "dag_run_id": "run_id",
               "map_index": "map_index"}
log = logging.getLogger(__name__)


def _status(result: Any) -> int:
    if isinstance(result, flask.Response):
        return result.status_code
    if isinstance(result, tuple) and len(result) > 1 and isinstance(result[1], int):
        return result[1]
    return 200


def _owner() -> str | None:
    user = context.context.get("user") if hasattr(context, "context") else None
    return user if isinstance(user, str) else None


def event_row(event: str, owner: str | None, path_params: dict[str, Any],
              body: Any = None, **fields: Any) -> EventLog:
    """The event log row of a call: who, which operation, on what, with what (masked)."""
    row = EventLog(event=event, owner=owner, **fields)
    for param, column in PATH_FIELDS.items():
        value = path_params.get(param)
        if isinstance(value, (str, int)) and value != "~":
            setattr(row, column, value)
    extra = {"method": flask.request.method, "path": flask.request.path}
    if isinstance(body, dict):
        extra["body"] = masked_mapping(body, path_params)
    row.extra = json.dumps(extra, default=str)
    return row


def itemized_row(event: str, change: dict[str, Any]) -> EventLog:
    """The row of one change an ITEMIZED_OPERATIONS call applied, described by `change`."""
    return event_row(event, _owner(), {}, change)


def audited(operation_id: str, function: Callable, dry_run_default: bool | None,
            *, atomic: bool = True) -> Callable:
    """`function` run in one request transaction that also records an event log row whenever
    it succeeded and changed something: a call whose body asks for a dry run (or leaves
    `dry_run` at a true default), or that got a stored answer again (an Idempotency-Key's
    retry), changes nothing. Not `atomic`: `function` commits as it goes, and the row is
    written after it."""

    def is_dry_run(body: Any) -> bool:
        if dry_run_default is None or not isinstance(body, dict):
            return False
        return bool(body.get("dry_run", dry_run_default))

    def record(result: Any, kwargs: dict[str, Any]) -> None:
        if operation_id in ITEMIZED_OPERATIONS:
            return
        if (_status(result) < 400 and not is_dry_run(kwargs.get("body"))
                and not idempotency.replayed()):
            with session() as sess:
                sess.add(event_row(operation_id, _owner(), kwargs, kwargs.get("body")))

    @functools.wraps(function)
    def call(*args, **kwargs):
        if atomic:
            with request_transaction():
                result = function(*args, **kwargs)
                record(result, kwargs)
            return result
        result = function(*args, **kwargs)
        try:
            record(result, kwargs)
        except Exception:  # the change itself is committed; say so loudly and go on
            log.exception("could not write the event log row for %s", operation_id)
        return result

    return call


def is_audited(method: str, operation_id: str) -> bool:
    if operation_id in CHANGING_GET_OPERATIONS:
        return True
    return method.lower() in MUTATING_METHODS and operation_id not in READ_ONLY_OPERATIONS


def dry_run_default(operation: dict) -> bool | None:
    """The default of the operation's `dry_run` body field; None when it has no such field."""
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    field = schema.get("properties", {}).get("dry_run")
    return None if field is None else bool(field.get("default", False))
