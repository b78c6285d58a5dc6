"""Which rows not kept under one DAG the caller may see: SQL conditions built on
`authorization.dag_filter`, each a subquery of the statement that uses it (never an extra query).

Rows of one DAG are filtered with `dag_filter` on their `dag_id` directly. This module covers the
rest: audit entries, which may be about no DAG, and what belongs to a DAG file, which may define
several DAGs (import errors, DAG source, parse requests).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, or_, true

from windsock.db.models import Dag, EventLog
from windsock.security.authorization import current, dag_filter
from windsock.security.model import READ


def event_log() -> ColumnElement:
    """Entries about no DAG, which every audit reader sees, or about a DAG the caller may read."""
    return or_(EventLog.dag_id.is_(None), dag_filter(EventLog.dag_id))


def some_dag_of_file(same_file: ColumnElement, action: str = READ) -> ColumnElement:
    """The caller may `action` every DAG, or at least one DAG defined in the file.

    `same_file` is the condition on `Dag` that picks the file's DAGs, e.g.
    `Dag.fileloc == ImportError.filename`; it correlates with the enclosing statement.
    """
    if current().on_every_dag(action):
        return true()
    return exists().where(same_file, dag_filter(Dag.dag_id, action))


def every_dag_of_file(same_file: ColumnElement, action: str = READ) -> ColumnElement:
    """The caller may `action` every DAG, or the file defines DAGs and the caller may `action`
    each of them."""
    if current().on_every_dag(action):
        return true()
    return and_(some_dag_of_file(same_file, action),
                ~exists().where(same_file, ~dag_filter(Dag.dag_id, action)))
