"""Backfills: planning, creating, pausing and cancelling them, whoever asks (the API or the
command line), in the caller's transaction. The scheduler creates their runs
(windsock.scheduler.backfills).

A backfill covers the logical dates of its DAG's schedule from `from_date` to `to_date`, both
included, that lie within the DAG's start and end dates and whose data interval had ended when
the backfill was created (as a scheduled run's would have). At a date where the DAG already has a
run, `reprocess_behavior` decides: `none` leaves it, `failed` reruns it if it failed,
`completed` reruns it if it finished; a queued or running run is never touched.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from windsock.dags import params, schedules
from windsock.db.models import Backfill, Dag, DagRun
from windsock.runs.marking import set_run_state
from windsock.runs.states import FINISHED_RUN_STATES

MAX_DATES = 10000


class Invalid(ValueError):
    """A backfill the DAG or the dates do not allow."""


class ImportErrors(Invalid):
    """The DAG's file currently fails to import."""


class Conflicting(ValueError):
    """A change that the state of the backfills does not allow."""


@dataclass(frozen=True)
class Request:
    """What a caller asks for; the defaults are the contract's."""

    dag_id: str
    from_date: datetime
    to_date: datetime
    run_backwards: bool = False
    dag_run_conf: Mapping[str, Any] | None = None
    reprocess_behavior: str = "none"
    max_active_runs: int = 10


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def schedule_of(data: Mapping[str, Any]) -> schedules.Schedule:
    """The time-based schedule of a serialized DAG; Invalid when it has none."""
    schedule = schedules.from_wire(data["schedule"], _moment(data["start_date"]))
    if schedule is None or data.get("dataset_expression") is not None:
        raise Invalid(f"DAG {data['dag_id']!r} has no time-based schedule (it runs when "
                      "triggered or on datasets), so it has no logical dates to backfill.")
    return schedule


def within(backfill: Backfill, data: Mapping[str, Any], schedule: schedules.Schedule,
           moment: datetime) -> bool:
    """Whether the logical date `moment` belongs to the backfill (see the module's doc)."""
    end_date = _moment(data["end_date"])
    return (backfill.from_date <= moment <= backfill.to_date
            and _moment(data["start_date"]) <= moment
            and (end_date is None or moment <= end_date)
            and schedule.following(moment) <= backfill.created_at)


def step(backfill: Backfill, schedule: schedules.Schedule, moment: datetime) -> datetime:
    """The logical date after `moment` in the backfill's direction."""
    return schedule.previous(moment) if backfill.run_backwards else schedule.following(moment)


def dates(backfill: Backfill, data: Mapping[str, Any]) -> Iterator[datetime]:
    """The backfill's logical dates in its order, from `next_logical_date` on."""
    schedule = schedule_of(data)
    moment = backfill.next_logical_date
    while moment is not None and within(backfill, data, schedule, moment):
        yield moment
        moment = step(backfill, schedule, moment)


def _first_date(backfill: Backfill, data: Mapping[str, Any]) -> datetime | None:
    """The backfill's first logical date in its order; None when the range holds none."""
    schedule = schedule_of(data)
    start = max(backfill.from_date, _moment(data["start_date"]))
    earliest = schedule.align(start)
    if not backfill.run_backwards:
        return earliest if within(backfill, data, schedule, earliest) else None
    latest = None
    for moment in _forward(schedule, earliest):
        if not within(backfill, data, schedule, moment):
            break
        latest = moment
    return latest


def _forward(schedule: schedules.Schedule, moment: datetime) -> Iterator[datetime]:
    for _ in range(MAX_DATES + 1):
        yield moment
        moment = schedule.following(moment)


def reruns(state: str, reprocess_behavior: str) -> bool:
    """Whether a backfill with `reprocess_behavior` reruns an existing run in `state`."""
    if state not in FINISHED_RUN_STATES:
        return False
    return reprocess_behavior == "completed" or (reprocess_behavior == "failed"
                                                 and state == "failed")


def _new(request: Request, data: Mapping[str, Any], now: datetime) -> Backfill:
    """The backfill `request` asks for, checked, not yet added to the session."""
    if request.from_date > request.to_date:
        raise Invalid(f"from_date ({request.from_date.isoformat()}) is after to_date "
                      f"({request.to_date.isoformat()}).")
    if request.from_date > now:
        raise Invalid(f"from_date ({request.from_date.isoformat()}) is in the future; a "
                      "backfill runs past logical dates.")
    try:
        conf = params.resolve(data["params"], request.dag_run_conf or {})
    except ValueError as error:
        raise Invalid(f"dag_run_conf: {error}.") from None
    backfill = Backfill(dag_id=request.dag_id, from_date=request.from_date,
                        to_date=request.to_date, run_backwards=request.run_backwards,
                        dag_run_conf=json.dumps(conf), is_paused=False,
                        reprocess_behavior=request.reprocess_behavior,
                        max_active_runs=request.max_active_runs, created_at=now, updated_at=now)
    backfill.next_logical_date = _first_date(backfill, data)
    return backfill


def _checked(dag: Dag, data: Mapping[str, Any], request: Request,
             now: datetime) -> tuple[Backfill, list[datetime]]:
    """The backfill `request` asks for and all its logical dates, in its order; Invalid when
    the DAG cannot be backfilled or the range holds no date or more than MAX_DATES."""
    if dag.has_import_errors:
        raise ImportErrors(f"DAG {dag.dag_id!r} cannot be backfilled while its file "
                           f"{dag.fileloc} fails to import; see GET /importErrors.")
    backfill = _new(request, data, now)
    every = []
    for moment in dates(backfill, data):
        every.append(moment)
        if len(every) > MAX_DATES:
            raise Invalid(f"The range holds more than {MAX_DATES} logical dates of DAG "
                          f"{dag.dag_id!r}; backfill a shorter one.")
    if not every:
        raise Invalid(f"The range holds no logical date of DAG {dag.dag_id!r} within its "
                      "start and end dates whose data interval has ended.")
    return backfill, every


def plan(sess: Session, dag: Dag, data: Mapping[str, Any], request: Request,
         now: datetime) -> list[datetime]:
    """The logical dates the backfill would run, in its order: all its dates less those where
    an existing run stays as it is (checked as `create` checks it, but for other backfills)."""
    _, every = _checked(dag, data, request, now)
    existing = dict(sess.execute(select(DagRun.logical_date, DagRun.state).where(
        DagRun.dag_id == dag.dag_id, DagRun.logical_date >= min(every),
        DagRun.logical_date <= max(every))).all())
    return [moment for moment in every if moment not in existing
            or reruns(existing[moment], request.reprocess_behavior)]


def create(sess: Session, dag: Dag, data: Mapping[str, Any], request: Request,
           now: datetime) -> Backfill:
    """Create the backfill. Conflicting when the DAG has a backfill that is not completed (also
    when one is created concurrently: the partial unique index refuses the second)."""
    backfill, _ = _checked(dag, data, request, now)
    dag_id = dag.dag_id  # (a failed flush expires the session's objects: read it before)
    active = sess.scalar(select(Backfill.id).where(Backfill.dag_id == dag_id,
                                                   Backfill.completed_at.is_(None)))
    if active is not None:
        raise _already_active(dag_id, f" ({active})")
    sess.add(backfill)
    try:
        sess.flush()
    except IntegrityError:
        raise _already_active(dag_id, "") from None
    return backfill


def _already_active(dag_id: str, which: str) -> Conflicting:
    return Conflicting(f"DAG {dag_id!r} already has a backfill{which} that is not completed; "
                       "wait for it to complete, or cancel it, first.")


def _check_active(backfill: Backfill) -> None:
    if backfill.completed_at is not None:
        raise Conflicting(f"Backfill {backfill.id} is already completed "
                          f"({backfill.completed_at.isoformat()}).")


def set_paused(backfill: Backfill, paused: bool) -> None:
    _check_active(backfill)
    backfill.is_paused = paused


def cancel(sess: Session, backfill: Backfill, now: datetime) -> None:
    """Pause and complete the backfill; its queued runs fail without starting."""
    _check_active(backfill)
    backfill.is_paused = True
    backfill.next_logical_date = None
    backfill.completed_at = now
    for run in sess.scalars(select(DagRun).where(DagRun.backfill_id == backfill.id,
                                                 DagRun.state == "queued")):
        set_run_state(sess, run, "failed")
