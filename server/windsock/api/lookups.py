"""Finding a DAG, its serialized form and its runs by the ids in a request, or answering 404."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from windsock.api import resources
from windsock.api.problems import NotFound
from windsock.db.models import Dag, DagRun, SerializedDag


def dag(sess: Session, dag_id: str) -> Dag:
    return resources.get_or_404(sess, Dag.dag_id, dag_id, "DAG")


def serialized_dag(sess: Session, dag_id: str) -> tuple[Dag, dict[str, Any]]:
    """The DAG and its serialized form (see windsock.dags.serialization), in one query."""
    row = sess.execute(select(Dag, SerializedDag.data).outerjoin(SerializedDag)
                       .where(Dag.dag_id == dag_id)).first()
    if row is None:
        raise NotFound(f"DAG {dag_id!r} does not exist.")
    if row.data is None:
        raise NotFound(f"DAG {dag_id!r} has not been parsed yet; its tasks are unknown.")
    return row.Dag, json.loads(row.data)


def find_run(sess: Session, dag_id: str, run_id: str) -> DagRun | None:
    return sess.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))


def dag_run(sess: Session, dag_id: str, run_id: str) -> DagRun:
    run = find_run(sess, dag_id, run_id)
    if run is None:
        raise NotFound(f"DAG {dag_id!r} has no run {run_id!r}.")
    return run
