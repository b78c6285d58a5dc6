"""DagWarning operations: problems the DAG processor found that do not stop a DAG loading."""

from __future__ import annotations

from sqlalchemy import select

from windsock.api import filters, paging
from windsock.api.representations import iso
from windsock.db.engine import session
from windsock.db.models import DagWarning
from windsock.security.authorization import dag_filter

ORDER_COLUMNS = {"timestamp": DagWarning.timestamp, "dag_id": DagWarning.dag_id,
                 "warning_type": DagWarning.warning_type, "message": DagWarning.message}


def _body(warning: DagWarning) -> dict:
    return {"dag_id": warning.dag_id, "warning_type": warning.warning_type,
            "message": warning.message, "timestamp": iso(warning.timestamp)}


def get_dag_warnings(limit: int, offset: int, order_by: str, dag_id: str | None = None,
                     warning_type: str | None = None):
    stmt = select(DagWarning).where(dag_filter(DagWarning.dag_id), *filters.where(
        filters.equals(DagWarning.dag_id, dag_id),
        filters.equals(DagWarning.warning_type, warning_type)))
    with session() as sess:
        return paging.collection(
            sess, stmt, key="dag_warnings", serialize=_body, order_by=order_by,
            columns=ORDER_COLUMNS, primary_key=(DagWarning.dag_id, DagWarning.warning_type),
            limit=limit, offset=offset)
