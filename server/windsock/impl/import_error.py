"""ImportError operations: DAG files that failed to load at their latest parse.

A caller who may read every DAG sees every import error. Others see the errors of files that
define a DAG they may read (the DAGs stored from the file's last good parse), and the stack trace
only when they may read every DAG of the file, as Airflow does; an error of any other file is not
in their view (404 when asked for by id).
"""

from __future__ import annotations

from sqlalchemy import Select, select

from windsock.api import paging, visibility
from windsock.api.problems import NotFound
from windsock.api.representations import iso
from windsock.api.resources import single
from windsock.db.engine import session
from windsock.db.models import Dag, ImportError

ORDER_COLUMNS = {"import_error_id": ImportError.id, "timestamp": ImportError.timestamp,
                 "filename": ImportError.filename}
REDACTED = "REDACTED - you do not have read permission on all DAGs in the file"


def _visible() -> Select:
    """The import errors the caller may see, each with whether they may read its whole file."""
    same_file = Dag.fileloc == ImportError.filename
    return (select(ImportError, visibility.every_dag_of_file(same_file).label("whole_file"))
            .where(visibility.some_dag_of_file(same_file)))


def _body(error: ImportError, whole_file: bool) -> dict:
    return {"import_error_id": error.id, "timestamp": iso(error.timestamp),
            "filename": error.filename,
            "stack_trace": error.stack_trace if whole_file else REDACTED}


def get_import_errors(limit: int, offset: int, order_by: str):
    with session() as sess:
        return paging.collection(
            sess, _visible(), key="import_errors", serialize=lambda row: _body(*row),
            order_by=order_by, columns=ORDER_COLUMNS, primary_key=ImportError.id, limit=limit,
            offset=offset)


def get_import_error(import_error_id: int):
    with session() as sess:
        row = sess.execute(_visible().where(ImportError.id == import_error_id)).first()
        if row is None:
            raise NotFound(f"Import error {import_error_id!r} does not exist.")
        return single(_body(*row))
