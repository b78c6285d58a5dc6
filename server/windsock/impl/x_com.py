"""XCom operations: the values task instances pushed, listed without them or read one by one,
and set, changed or deleted from outside the task.

Values are stored as JSON. `stringify` (the default) answers a value as Python's `str()` renders
it, as Airflow does; without it, the JSON value itself.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import and_, select

from windsock.api import filters, lookups, paging, resources
from windsock.api.problems import NotFound
from windsock.api.representations import iso
from windsock.db.engine import locked, session
from windsock.db.models import DagRun, XCom, utcnow
from windsock.security.authorization import dag_filter

# The list's order is fixed: by DAG, then run, task, map index and key.
ORDER = {"dag_id": XCom.dag_id}
TIE_BREAKERS = (XCom.run_id, XCom.task_id, XCom.map_index, XCom.key)
WITH_LOGICAL_DATE = select(XCom, DagRun.logical_date).join(
    DagRun, and_(DagRun.dag_id == XCom.dag_id, DagRun.run_id == XCom.run_id))


def _item(xcom: XCom, logical_date) -> dict:
    return {"key": xcom.key, "timestamp": iso(xcom.timestamp),
            "execution_date": iso(logical_date), "map_index": xcom.map_index,
            "task_id": xcom.task_id, "dag_id": xcom.dag_id, "run_id": xcom.run_id}


def get_xcom_entries(dag_id: str, dag_run_id: str, task_id: str, limit: int, offset: int,
                     map_index: int | None = None, xcom_key: str | None = None):
    with session() as sess:
        lookups.check_scope(sess, dag_id, dag_run_id, task_id)
        conditions = filters.where(
            dag_filter(XCom.dag_id), filters.equals(XCom.dag_id, dag_id),
            filters.equals(XCom.run_id, dag_run_id), filters.equals(XCom.task_id, task_id),
            filters.equals(XCom.map_index, map_index), filters.equals(XCom.key, xcom_key))
        return paging.collection(
            sess, WITH_LOGICAL_DATE.where(*conditions), key="xcom_entries",
            serialize=lambda row: _item(*row), order_by="dag_id", columns=ORDER,
            primary_key=TIE_BREAKERS, limit=limit, offset=offset)


def _entry(sess, dag_id: str, dag_run_id: str, task_id: str, xcom_key: str,
           map_index: int | None) -> tuple[XCom, datetime]:
    """The entry and its run's logical date (locked in a request transaction), or 404 naming
    what is missing: the DAG, the run, the task instance or the entry."""
    row = sess.execute(locked(WITH_LOGICAL_DATE.where(
        XCom.dag_id == dag_id, XCom.run_id == dag_run_id, XCom.task_id == task_id,
        XCom.map_index == (-1 if map_index is None else map_index),
        XCom.key == xcom_key), XCom)).first()
    if row is None:
        lookups.task_instance(sess, dag_id, dag_run_id, task_id, map_index)
        raise NotFound(f"Task instance {task_id!r} of run {dag_run_id!r} of DAG {dag_id!r} "
                       f"has no XCom entry {xcom_key!r}.")
    return row.XCom, row.logical_date


def _with_value(xcom: XCom, logical_date: datetime, stringify: bool) -> dict:
    value = json.loads(xcom.value)
    return {**_item(xcom, logical_date), "value": str(value) if stringify else value}


def get_xcom_entry(dag_id: str, dag_run_id: str, task_id: str, xcom_key: str,
                   map_index: int | None = None, deserialize: bool | None = None,
                   stringify: bool | None = None):
    # `deserialize` changes nothing: values are stored as JSON, so reading decodes them anyway.
    with session() as sess:
        entry = _entry(sess, dag_id, dag_run_id, task_id, xcom_key, map_index)
    return resources.single(_with_value(*entry, stringify=stringify is not False))


def post_xcom_entry(dag_id: str, dag_run_id: str, task_id: str, body: dict):
    """Stored as a task's own push is (JSON text), so runners and reads see it the same way."""
    map_index = body.get("map_index", -1)
    with session() as sess:
        _, logical_date = lookups.task_instance(sess, dag_id, dag_run_id, task_id, map_index)
        xcom = XCom(dag_id=dag_id, run_id=dag_run_id, task_id=task_id, map_index=map_index,
                    key=body["key"], value=json.dumps(body["value"]), timestamp=utcnow())
        sess.add(xcom)
        resources.flush_or_conflict(
            sess, f"Task instance {task_id!r} of run {dag_run_id!r} of DAG {dag_id!r} has an "
                  f"XCom entry {xcom.key!r} already; change it with PATCH.")
        return resources.created(_with_value(xcom, logical_date, stringify=False),
                                 resources.location(xcom.key))


def patch_xcom_entry(dag_id: str, dag_run_id: str, task_id: str, xcom_key: str, body: dict):
    with session() as sess:
        xcom, logical_date = _entry(sess, dag_id, dag_run_id, task_id, xcom_key,
                                    body.get("map_index"))
        xcom.value, xcom.timestamp = json.dumps(body["value"]), utcnow()
        return resources.updated(_with_value(xcom, logical_date, stringify=False))


def delete_xcom_entry(dag_id: str, dag_run_id: str, task_id: str, xcom_key: str,
                      map_index: int | None = None):
    with session() as sess:
        xcom, _ = _entry(sess, dag_id, dag_run_id, task_id, xcom_key, map_index)
        sess.delete(xcom)
        return resources.deleted()
