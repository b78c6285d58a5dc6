"""Connections and variables to and from JSON files, in the shapes Airflow 2's command line
writes (`windsock connections import|export FILE`, `windsock variables import|export FILE`).

- Variables: one JSON object, `{key: value}`. A value that is not a string is stored as its JSON
  text; on export, a value is written as JSON when it is JSON text exactly as Python writes it
  (`"[1, 2]"` becomes `[1, 2]`), so that an export imports back unchanged.
- Connections: one JSON object, `{conn_id: {conn_type, description, host, login, password,
  schema, port, extra}}`; `extra` may be JSON text or an object.

An import is one bulk `create` action (windsock.api.bulk), so each connection or variable is
checked and stored as `POST` would, and either all are imported (or skipped as existing) or, when
one fails, none; every entry of the file is first checked against the contract's schema, as a
request body would be. The event log gets a row naming the keys imported, never the values.
Export files hold passwords and sensitive values in clear (an import needs them), so they are
readable by their owner only; what is printed names keys only.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute

from windsock.api import bulk, validation
from windsock.api.problems import BadRequest, Problem
from windsock.db.engine import request_transaction, session
from windsock.db.models import Connection, EventLog, Variable
from windsock.impl import connection, variable

CONNECTION_FIELDS = ("conn_type", "description", "host", "login", "password", "schema", "port",
                     "extra")


@dataclass(frozen=True)
class Kind:
    """One kind of object that files carry: how an entry becomes an entity and a row an entry."""

    plural: str  # "connections", in messages and event names
    keyed: bulk.Keyed
    schema: str  # the contract's schema of one entity
    key: InstrumentedAttribute  # the column of the key, which orders an export
    entity: Callable[[str, Any], dict]  # a file's key and entry -> a create entity
    entry: Callable[[Any], Any]  # a row -> its file entry


def _variable_entity(key: str, value: Any) -> dict:
    return {"key": key, "value": value if isinstance(value, str) else json.dumps(value)}


def _variable_entry(var: Variable) -> Any:
    try:
        decoded = json.loads(var.val)
    except ValueError:
        return var.val
    return decoded if not isinstance(decoded, str) and json.dumps(decoded) == var.val else var.val


def _connection_entity(conn_id: str, entry: Any) -> dict:
    if not isinstance(entry, dict):
        raise BadRequest(f"The entry of {conn_id!r} is not a JSON object of connection fields.")
    extra = entry.get("extra")
    return {**entry, "connection_id": conn_id,
            **({"extra": json.dumps(extra)} if isinstance(extra, dict) else {})}


def _connection_entry(conn: Connection) -> dict:
    return {name: getattr(conn, name) for name in CONNECTION_FIELDS}


VARIABLES = Kind("variables", variable.KEYED, "Variable", Variable.key, _variable_entity,
                 _variable_entry)
CONNECTIONS = Kind("connections", connection.KEYED, "ConnectionCreate", Connection.conn_id,
                   _connection_entity, _connection_entry)
KINDS = {kind.plural: kind for kind in (CONNECTIONS, VARIABLES)}


def _document(path: Path) -> dict:
    try:
        document = json.loads(path.read_text())
    except OSError as error:
        raise ValueError(f"Cannot read {path}: {error.strerror}.") from None
    except ValueError as error:
        raise ValueError(f"{path} is not JSON: {error}.") from None
    if not isinstance(document, dict):
        raise ValueError(f"{path} must hold one JSON object, keyed by id.")
    return document


def import_file(kind: Kind, path: Path, on_existence: str) -> dict[str, list]:
    """Import the file as one create action; its outcome: the keys imported and skipped, and the
    errors (with any error, nothing was imported)."""
    entities, errors = [], []
    for key, entry in _document(path).items():
        try:
            entity = kind.entity(key, entry)
            validation.check(kind.schema, entity)
        except Problem as problem:
            errors.append(bulk.error(key, problem))
        else:
            entities.append(entity)
    if errors or not entities:
        return {"success": [], "skipped": [], "errors": errors}
    owner, action = getpass.getuser(), {"action": "create", "entities": entities,
                                        "action_on_existence": on_existence}
    with request_transaction(), session() as sess:
        def record(applied: dict, keys: list[str]) -> None:
            sess.add(EventLog(event=f"cli_{kind.plural}_import", owner=owner,
                              extra=json.dumps(bulk.summary(applied, keys))))

        return bulk.apply(sess, kind.keyed, [action], record)["create"]


def export_file(kind: Kind, path: Path) -> int:
    """Write every object of the kind to the file (readable by its owner only); how many."""
    with session() as sess:
        rows = sess.scalars(select(kind.key.class_).order_by(kind.key))
        document = {getattr(row, kind.key.key): kind.entry(row) for row in rows}
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(json.dumps(document, indent=2) + "\n")
    return len(document)


def report(kind: Kind, outcome: dict[str, list]) -> tuple[str, bool]:
    """What an import did, in lines naming keys only; and whether it failed."""
    lines = [f"Imported {len(outcome['success'])} {kind.plural}: "
             f"{', '.join(outcome['success']) or '-'}."]
    if outcome["skipped"]:
        lines.append(f"Skipped {len(outcome['skipped'])} existing {kind.plural}: "
                     f"{', '.join(outcome['skipped'])}.")
    if outcome["errors"]:
        lines.append(f"Failed {len(outcome['errors'])} {kind.plural}, so none was imported:")
        lines += [f"  {e['key']}: {e['status']} {e['detail']}" for e in outcome["errors"]]
    return "\n".join(lines), bool(outcome["errors"])
