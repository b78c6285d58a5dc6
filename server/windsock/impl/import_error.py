"""ImportError operations: DAG files that failed to load at their latest parse."""

from __future__ import annotations

from sqlalchemy import select

from windsock.api import paging, resources
from windsock.api.representations import iso
from windsock.db.engine import session
from windsock.db.models import ImportError

ORDER_COLUMNS = {"import_error_id": ImportError.id, "timestamp": ImportError.timestamp,
                 "filename": ImportError.filename}


def _body(error: ImportError) -> dict:
    return {"import_error_id": error.id, "timestamp": iso(error.timestamp),
            "filename": error.filename, "stack_trace": error.stack_trace}


def get_import_errors(limit: int, offset: int, order_by: str):
    with session() as sess:
        return paging.collection(
            sess, select(ImportError), key="import_errors", serialize=_body, order_by=order_by,
            columns=ORDER_COLUMNS, primary_key=ImportError.id, limit=limit, offset=offset)


def get_import_error(import_error_id: int):
    with session() as sess:
        error = resources.get_or_404(sess, ImportError.id, import_error_id, "Import error")
        return resources.single(_body(error))
