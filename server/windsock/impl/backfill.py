"""Backfill operations: planning, creating, listing, reading, pausing, unpausing and cancelling.

A backfill names its DAG in the body (creating) or in its row (the others), not in the path, so
the guard checks the declared needs on some DAG and these operations check them on the
backfill's DAG: creating for a DAG the caller may not create runs of is 403, and a backfill of a
DAG the caller may not read is 404, as the contract says for objects found by id.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select

from windsock.api import filters, lookups, paging, resources
from windsock.api.guard import authorize
from windsock.api.problems import Conflict, DagHasImportErrors, Unprocessable
from windsock.api.representations import iso
from windsock.db.engine import session
from windsock.db.models import Backfill
from windsock.runs import backfills
from windsock.security.authorization import current, dag_filter
from windsock.security.model import CREATE, DAGS, EDIT, READ

OPTIONAL_FIELDS = ("run_backwards", "dag_run_conf", "reprocess_behavior", "max_active_runs")
ORDER_COLUMNS = {"id": Backfill.id, "dag_id": Backfill.dag_id,
                 "created_at": Backfill.created_at}


def _body(backfill: Backfill) -> dict[str, Any]:
    return {
        "id": backfill.id,
        "dag_id": backfill.dag_id,
        "from_date": iso(backfill.from_date),
        "to_date": iso(backfill.to_date),
        "run_backwards": backfill.run_backwards,
        "dag_run_conf": json.loads(backfill.dag_run_conf),
        "is_paused": backfill.is_paused,
        "reprocess_behavior": backfill.reprocess_behavior,
        "max_active_runs": backfill.max_active_runs,
        "created_at": iso(backfill.created_at),
        "completed_at": iso(backfill.completed_at),
        "updated_at": iso(backfill.updated_at),
    }


def _utc(name: str, body: dict) -> datetime:
    return filters.parse_datetime(name, body[name]).astimezone(timezone.utc)


def _request(body: dict) -> backfills.Request:
    """The request the body makes; the fields it leaves out keep the contract's defaults."""
    return backfills.Request(
        dag_id=body["dag_id"], from_date=_utc("from_date", body), to_date=_utc("to_date", body),
        **{name: body[name] for name in OPTIONAL_FIELDS if name in body})


def _answer(action: Callable[[], Any]) -> Any:
    """`action()`, its refusals as problems."""
    try:
        return action()
    except backfills.ImportErrors as error:
        raise DagHasImportErrors(str(error)) from None
    except backfills.Invalid as error:
        raise Unprocessable(str(error)) from None
    except backfills.Conflicting as error:
        raise Conflict(str(error)) from None


def _planned(body: dict, action: str, work: Callable) -> Any:
    """`work(sess, dag, serialized, request, now)` on the DAG the body names, once the caller
    may `action` it."""
    request = _request(body)
    authorize(current(), [(action, DAGS)], request.dag_id)
    with session() as sess:
        dag, data = lookups.serialized_dag(sess, request.dag_id)
        return _answer(lambda: work(sess, dag, data, request, datetime.now(timezone.utc)))


def create_backfill_dry_run(body: dict):
    logical_dates = _planned(body, READ, backfills.plan)
    return resources.ok({"backfills": [{"logical_date": iso(moment)} for moment in logical_dates],
                         "total_entries": len(logical_dates)})


def create_backfill(body: dict):
    backfill = _planned(body, CREATE, backfills.create)
    return resources.created(_body(backfill), resources.location(str(backfill.id)))


def list_backfills(limit: int, offset: int, order_by: str, dag_id: str | None = None):
    with session() as sess:
        return paging.collection(
            sess, select(Backfill).where(dag_filter(Backfill.dag_id),
                                         *filters.where(filters.equals(Backfill.dag_id, dag_id))),
            key="backfills", serialize=_body, order_by=order_by, columns=ORDER_COLUMNS,
            primary_key=Backfill.id, limit=limit, offset=offset)


def _find(sess, backfill_id: int) -> Backfill:
    return resources.get_or_404(sess, Backfill.id, backfill_id, "Backfill",
                                dag_filter(Backfill.dag_id))


def get_backfill(backfill_id: int):
    with session() as sess:
        return resources.single(_body(_find(sess, backfill_id)))


def _change(backfill_id: int, change: Callable[[Any, Backfill], None]):
    """Apply `change(sess, backfill)` once the caller may edit the backfill's DAG."""
    with session() as sess:
        backfill = _find(sess, backfill_id)
        authorize(current(), [(EDIT, DAGS)], backfill.dag_id)
        _answer(lambda: change(sess, backfill))
        sess.flush()
        return resources.updated(_body(backfill))


def pause_backfill(backfill_id: int):
    return _change(backfill_id, lambda _, backfill: backfills.set_paused(backfill, True))


def unpause_backfill(backfill_id: int):
    return _change(backfill_id, lambda _, backfill: backfills.set_paused(backfill, False))


def cancel_backfill(backfill_id: int):
    return _change(backfill_id, lambda sess, backfill: backfills.cancel(
        sess, backfill, datetime.now(timezone.utc)))
