"""Row locks and guarded updates, so that schedulers, task runners and the API never overwrite
each other's state changes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from windsock import listeners
from windsock.db.models import DagRun, TaskInstance


def locked(sess: Session, stmt: Select, *of: Any, skip: bool = True) -> Select:
    """`stmt` locking the rows it reads on PostgreSQL (SELECT ... FOR UPDATE), skipping rows
    another transaction holds unless `skip` is False (then it waits for them). SQLite has no
    row locks; there the scheduler's transactions start with a write (the heartbeat), which
    takes SQLite's single write lock."""
    if sess.get_bind().dialect.name != "postgresql":
        return stmt
    return stmt.with_for_update(skip_locked=skip, of=list(of) or None)


def move_ti(sess: Session, ti: TaskInstance, state: str | None, **values: Any) -> bool:
    """Give `ti` `state` (and `values`) unless its state or try changed since it was read;
    whether it did. The loaded object is updated too."""
    previous = ti.state
    result = sess.execute(
        update(TaskInstance)
        .where(TaskInstance.dag_id == ti.dag_id, TaskInstance.run_id == ti.run_id,
               TaskInstance.task_id == ti.task_id, TaskInstance.map_index == ti.map_index,
               TaskInstance.state.is_(None) if ti.state is None
               else TaskInstance.state == ti.state,
               TaskInstance.try_number == ti.try_number)
        .values(state=state, **values).execution_options(synchronize_session=False))
    if not _applied(result.rowcount, ti, state=state, **values):
        return False
    listeners.task_instance_state_changed(sess, ti, previous, state)
    return True


def move_run(sess: Session, run: DagRun, state: str, **values: Any) -> bool:
    """Give `run` `state` (and `values`) unless its state changed since it was read."""
    previous = run.state
    result = sess.execute(update(DagRun).where(DagRun.id == run.id, DagRun.state == run.state)
                          .values(state=state, **values)
                          .execution_options(synchronize_session=False))
    if not _applied(result.rowcount, run, state=state, **values):
        return False
    listeners.dag_run_state_changed(sess, run, previous, state)
    return True


def _applied(rowcount: int, row: Any, **values: Any) -> bool:
    """Whether the guarded update changed the row; if so, the loaded object shows it."""
    if rowcount != 1:
        return False
    for name, value in values.items():
        set_committed_value(row, name, value)
    return True
