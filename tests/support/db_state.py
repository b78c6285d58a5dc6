"""Reading runs and task instances back from the database, for assertions about what an
operation changed (or, on a dry run, did not change)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from windsock.db.engine import session
from windsock.db.models import DagRun, TaskInstance, TaskInstanceTry


def task_states(dag_id: str, run_id: str) -> dict[str, str | None]:
    """{task_id: state} of one run."""
    with session() as sess:
        return dict(sess.execute(select(TaskInstance.task_id, TaskInstance.state).where(
            TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id)).all())


def run_row(dag_id: str, run_id: str) -> DagRun | None:
    with session() as sess:
        return sess.scalar(select(DagRun).where(DagRun.dag_id == dag_id,
                                                DagRun.run_id == run_id))


def tries(dag_id: str) -> list[tuple[str, str, int, str | None]]:
    """(run_id, task_id, try_number, state) of every archived try of the DAG's instances."""
    with session() as sess:
        return list(sess.execute(
            select(TaskInstanceTry.run_id, TaskInstanceTry.task_id, TaskInstanceTry.try_number,
                   TaskInstanceTry.state)
            .where(TaskInstanceTry.dag_id == dag_id)
            .order_by(TaskInstanceTry.run_id, TaskInstanceTry.task_id)).tuples())


def snapshot() -> dict[str, Any]:
    """Every column of every run, task instance and archived try."""
    def rows(model):
        columns = [c.key for c in model.__table__.columns]
        return sorted((tuple(getattr(obj, c) for c in columns)
                       for obj in sess.scalars(select(model))), key=repr)

    with session() as sess:
        return {model.__name__: rows(model) for model in (DagRun, TaskInstance, TaskInstanceTry)}
