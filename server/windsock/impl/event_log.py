"""EventLog operations: reading the audit trail (api/audit.py writes it).

A caller sees the entries about no DAG and those about the DAGs they may read; an entry about
another DAG is not in their view (404 when asked for by id)."""

from __future__ import annotations

from sqlalchemy import select

from windsock.api import filters, paging, resources, visibility
from windsock.api.representations import iso
from windsock.db.engine import session
from windsock.db.models import EventLog

ORDER_COLUMNS = {"event_log_id": EventLog.id, "when": EventLog.dttm, "dag_id": EventLog.dag_id,
                 "task_id": EventLog.task_id, "run_id": EventLog.run_id, "event": EventLog.event,
                 "execution_date": EventLog.execution_date, "owner": EventLog.owner,
                 "extra": EventLog.extra}


def _body(entry: EventLog) -> dict:
    return {"event_log_id": entry.id, "when": iso(entry.dttm), "dag_id": entry.dag_id,
            "task_id": entry.task_id, "run_id": entry.run_id, "map_index": entry.map_index,
            "try_number": entry.try_number, "event": entry.event,
            "execution_date": iso(entry.execution_date), "owner": entry.owner,
            "extra": entry.extra}


def get_event_logs(limit: int, offset: int, order_by: str, dag_id: str | None = None,
                   task_id: str | None = None, run_id: str | None = None,
                   map_index: int | None = None, try_number: int | None = None,
                   event: str | None = None, owner: str | None = None, before: str | None = None,
                   after: str | None = None, included_events: list[str] | None = None,
                   excluded_events: list[str] | None = None):
    until = filters.parse_datetime("before", before)  # both exclusive
    since = filters.parse_datetime("after", after)
    stmt = select(EventLog).where(visibility.event_log(), *filters.where(
        filters.equals(EventLog.dag_id, dag_id),
        filters.equals(EventLog.task_id, task_id),
        filters.equals(EventLog.run_id, run_id),
        filters.equals(EventLog.map_index, map_index),
        filters.equals(EventLog.try_number, try_number),
        filters.equals(EventLog.event, event),
        filters.equals(EventLog.owner, owner),
        None if until is None else EventLog.dttm < until,
        None if since is None else EventLog.dttm > since,
        filters.any_of(EventLog.event, included_events),
        EventLog.event.not_in(excluded_events) if excluded_events else None))
    with session() as sess:
        return paging.collection(
            sess, stmt, key="event_logs", serialize=_body, order_by=order_by,
            columns=ORDER_COLUMNS, primary_key=EventLog.id, limit=limit, offset=offset)


def get_event_log(event_log_id: int):
    with session() as sess:
        entry = resources.get_or_404(sess, EventLog.id, event_log_id, "Event log entry",
                                     visibility.event_log())
        return resources.single(_body(entry))
