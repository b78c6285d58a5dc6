"""Airflow 2's experimental API, deprecated and served only while `[api]
enable_experimental_api` is on (see windsock.api.deprecation).

Each operation is the stable operation that replaces it (the same code, checks and permissions),
answered in the shape Airflow 2's experimental API gave. Runs are named by their logical
(execution) date, as that API named them; a date without an offset is UTC, as it took them.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, select

from windsock.api import filters, lookups, resources
from windsock.api.problems import BadRequest, NotFound
from windsock.api.representations import iso
from windsock.db.engine import session
from windsock.db.models import DagRun, Pool, XCom
from windsock.impl import dag, dag_run, pool, task_instance
from windsock.security.authorization import dag_filter

LINEAGE_KEYS = {"pipeline_inlets": "inlets", "pipeline_outlets": "outlets"}
TRUE_WORDS, FALSE_WORDS = {"true", "t", "yes", "y", "1"}, {"false", "f", "no", "n", "0"}


def _body(answer: tuple) -> Any:
    """The JSON body of a stable operation's answer."""
    return answer[0]


def _as_text(fields: dict[str, Any]) -> dict[str, str]:
    """An object's fields with each value as Python writes it, as Airflow 2 answered them."""
    return {name: str(value) for name, value in fields.items()}


def _date(name: str, value: str) -> datetime:
    """The datetime `value` in UTC; one without an offset is taken as UTC."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"'{name}' is not a datetime: {value!r}; e.g. "
                         "2026-01-01T00:00:00+00:00.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return filters.parse_datetime(name, moment).astimezone(timezone.utc)


def _flag(name: str, value: Any) -> bool:
    """A boolean sent as JSON or as text (`"true"`, `"False"`, ...)."""
    word = str(value).lower()
    if isinstance(value, bool) or word in TRUE_WORDS | FALSE_WORDS:
        return word in TRUE_WORDS
    raise BadRequest(f"'{name}' must be true or false, not {value!r}.")


def _run_url(dag_id: str, run_id: str) -> str:
    return f"/api/v1/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}"


def _run_at(sess, dag_id: str, execution_date: str) -> DagRun:
    """The DAG's run with this logical date; 404 naming the DAG or the date."""
    moment = _date("execution_date", execution_date)
    lookups.dag(sess, dag_id)
    run = sess.scalar(select(DagRun).where(DagRun.dag_id == dag_id,
                                           DagRun.logical_date == moment))
    if run is None:
        raise NotFound(f"DAG {dag_id!r} has no run with the logical date {moment.isoformat()}.")
    return run


def experimental_test():
    return resources.ok({"status": "OK"})


def experimental_get_dag_code(dag_id: str):
    source = dag.dag_file_source(_body(dag.get_dag(dag_id))["file_token"])
    return source, 200, {"Content-Type": "text/plain"}


def experimental_get_dag_runs(dag_id: str, state: str | None = None):
    with session() as sess:
        lookups.dag(sess, dag_id)
        runs = sess.scalars(select(DagRun).where(
            DagRun.dag_id == dag_id, *filters.where(filters.equals(
                DagRun.state, state.lower() if state else None)))
            .order_by(DagRun.logical_date, DagRun.id))
        return resources.ok([{
            "id": run.id, "run_id": run.run_id, "state": run.state, "dag_id": run.dag_id,
            "execution_date": iso(run.logical_date), "start_date": iso(run.start_date) or "",
            "dag_run_url": _run_url(run.dag_id, run.run_id)} for run in runs])


def experimental_trigger_dag(dag_id: str, body: dict):
    execution_date = body.get("execution_date")
    moment = (datetime.now(timezone.utc) if execution_date is None
              else _date("execution_date", execution_date))
    if _flag("replace_microseconds", body.get("replace_microseconds", execution_date is None)):
        moment = moment.replace(microsecond=0)
    run = _body(dag_run.post_dag_run(dag_id, {"dag_run_id": body.get("run_id"),
                                              "conf": body.get("conf"),
                                              "logical_date": moment.isoformat()}))
    return resources.ok({
        "message": f"Created <DagRun {dag_id} @ {run['logical_date']}: {run['dag_run_id']}, "
                   f"state:{run['state']}, externally triggered: True>",
        "execution_date": run["logical_date"], "run_id": run["dag_run_id"]})


def experimental_get_dag_run_state(dag_id: str, execution_date: str):
    with session() as sess:
        return resources.ok({"state": _run_at(sess, dag_id, execution_date).state})


def experimental_get_task(dag_id: str, task_id: str):
    return resources.ok(_as_text(_body(dag.get_task(dag_id, task_id))))


def experimental_get_task_instance(dag_id: str, execution_date: str, task_id: str):
    with session() as sess:
        run_id = _run_at(sess, dag_id, execution_date).run_id
    return resources.ok(_as_text(_body(task_instance.get_task_instance(dag_id, run_id,
                                                                       task_id))))


def experimental_get_dag_paused(dag_id: str):
    return resources.ok({"is_paused": _body(dag.get_dag(dag_id))["is_paused"]})


def experimental_set_dag_paused(dag_id: str, paused: str):
    dag.patch_dag(dag_id, {"is_paused": paused == "true"}, ["is_paused"])
    return resources.ok({"response": "ok"})


def experimental_get_latest_runs():
    latest = (select(DagRun.dag_id, func.max(DagRun.logical_date).label("logical_date"))
              .where(dag_filter(DagRun.dag_id)).group_by(DagRun.dag_id).subquery())
    with session() as sess:
        runs = sess.scalars(select(DagRun).join(latest, (DagRun.dag_id == latest.c.dag_id)
                                                & (DagRun.logical_date == latest.c.logical_date))
                            .order_by(DagRun.dag_id))
        return resources.ok({"items": [{
            "dag_id": run.dag_id, "execution_date": iso(run.logical_date),
            "start_date": iso(run.start_date) or "",
            "dag_run_url": _run_url(run.dag_id, run.run_id)} for run in runs]})


def _pool(row: Pool) -> dict[str, Any]:
    return {"id": row.id, "pool": row.pool, "slots": row.slots, "description": row.description,
            "include_deferred": row.include_deferred}


def _pool_named(name: str) -> dict[str, Any]:
    with session() as sess:
        return _pool(resources.get_or_404(sess, Pool.pool, name, "Pool"))


def experimental_get_pools():
    with session() as sess:
        return resources.ok([_pool(row) for row in sess.scalars(select(Pool).order_by(Pool.id))])


def experimental_get_pool(pool_name: str):
    return resources.ok(_pool_named(pool_name))


def _slots(value: Any) -> int:
    """A pool's slots sent as a number or as its text, within the stable API's bounds."""
    text = str(value).strip()
    if isinstance(value, bool) or not text.lstrip("-").isdigit() or len(text) > 11:
        raise BadRequest(f"'slots' must be a whole number, not {value!r}.")
    slots = int(text)
    if not -1 <= slots <= 2_147_483_647:
        raise BadRequest(f"'slots' must be -1 (unbounded) or 0 to 2147483647, not {slots}.")
    return slots


def experimental_create_pool(body: dict):
    pool.post_pool({"name": body["name"], "slots": _slots(body["slots"]),
                    "description": body.get("description")})
    return resources.ok(_pool_named(body["name"]))


def experimental_delete_pool(pool_name: str):
    deleted = _pool_named(pool_name)
    pool.delete_pool(pool_name)
    return resources.ok(deleted)


def experimental_delete_dag(dag_id: str):
    dag.delete_dag(dag_id)
    return resources.ok({"message": "Removed 1 record(s)", "count": 1})


def experimental_get_lineage(dag_id: str, execution_date: str):
    with session() as sess:
        run = _run_at(sess, dag_id, execution_date)
        lineage: dict[str, dict[str, Any]] = {}
        for xcom in sess.scalars(select(XCom).where(
                XCom.dag_id == dag_id, XCom.run_id == run.run_id,
                XCom.key.in_(LINEAGE_KEYS)).order_by(XCom.task_id, XCom.map_index)):
            lineage.setdefault(xcom.task_id, {})[LINEAGE_KEYS[xcom.key]] = json.loads(xcom.value)
        return resources.ok({"task_ids": lineage})
