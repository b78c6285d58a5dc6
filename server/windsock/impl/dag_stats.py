"""DagStats: how many runs of each DAG are in each run state."""

from __future__ import annotations

from sqlalchemy import func, select

from windsock.api.resources import ok
from windsock.db.engine import session
from windsock.db.models import Dag, DagRun
from windsock.runs.states import RUN_STATES
from windsock.security.authorization import dag_filter


def get_dag_stats(dag_ids: list[str]):
    # One query: every requested DAG that exists and that the caller may read, with its run
    # count per state (an outer join, so a DAG without runs still appears, with a NULL state).
    stmt = (select(Dag.dag_id, DagRun.state, func.count(DagRun.id))
            .outerjoin(DagRun, DagRun.dag_id == Dag.dag_id)
            .where(Dag.dag_id.in_(dag_ids), dag_filter(Dag.dag_id))
            .group_by(Dag.dag_id, DagRun.state))
    counts: dict[str, dict[str, int]] = {}
    with session() as sess:
        for dag_id, state, count in sess.execute(stmt):
            per_state = counts.setdefault(dag_id, dict.fromkeys(RUN_STATES, 0))
            if state is not None:
                per_state[state] = count
    dags = [{"dag_id": dag_id, "stats": [{"state": s, "count": n} for s, n in per_state.items()]}
            for dag_id, per_state in sorted(counts.items())]
    return ok({"dags": dags, "total_entries": len(dags)})
