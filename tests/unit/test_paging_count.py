"""The total of a list page is counted from its table when the list reads one table only."""

from __future__ import annotations

import pytest
from sqlalchemy import exists, select, true

from windsock.api.paging import _count, _single_table
from windsock.db.models import Dag, DagRun, TaskInstance

RUNS = DagRun.__table__


@pytest.mark.parametrize("stmt, table", [
    (select(DagRun), RUNS),
    (select(DagRun).where(true()), RUNS),
    (select(DagRun).where(DagRun.dag_id.in_(select(Dag.dag_id).where(Dag.is_paused))), RUNS),
    (select(DagRun).where(exists().where(Dag.dag_id == DagRun.dag_id)), RUNS),
    (select(DagRun).where(DagRun.dag_id == Dag.dag_id), None),  # reads dag too
    (select(TaskInstance, DagRun.logical_date).join(DagRun, DagRun.run_id == TaskInstance.run_id),
     None),
    (select(DagRun).select_from(Dag).join(DagRun, Dag.dag_id == DagRun.dag_id), None),
    (select(DagRun).select_from(select(DagRun).subquery()), None),
], ids=["table", "always-true", "in-subquery", "exists", "two-tables", "join", "select-from",
        "from-subquery"])
def test_the_one_table_is_found_as_the_compiled_statement_would_say(stmt, table):
    found = _single_table(stmt)
    assert found is table or (found is not None and found.name == table.name)
    froms = stmt.get_final_froms()
    assert (table is not None) == (len(froms) == 1 and getattr(froms[0], "name", None) == "dag_run")


def test_a_one_table_count_reads_the_table_and_keeps_its_conditions():
    sql = str(_count(select(DagRun).where(DagRun.state == "failed")))
    assert "FROM dag_run" in sql and "WHERE dag_run.state" in sql and "anon" not in sql
    assert "anon" in str(_count(select(DagRun).where(DagRun.dag_id == Dag.dag_id)))
