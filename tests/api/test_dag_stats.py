"""DagStats: run counts per DAG and state, zeros included, for the DAGs asked about."""

from datetime import timedelta

from tests.api.helpers import API, assert_problem
from tests.support import queries
from tests.support.seed import EPOCH, add_dag, add_run, sample_dag

STATS = f"{API}/dagStats"


def runs(dag, *states: str) -> None:
    for n, state in enumerate(states):
        add_run(dag, f"run_{n}", state=state, logical_date=EPOCH + timedelta(days=n))


def stats(**counts: int) -> list[dict]:
    return [{"state": state, "count": counts.get(state, 0)}
            for state in ("queued", "running", "success", "failed")]


def test_counts_runs_per_state_with_zeros(client, migrated):
    busy, idle, other = sample_dag("busy"), sample_dag("idle"), sample_dag("other")
    for dag in (busy, idle, other):
        add_dag(dag)
    runs(busy, "success", "success", "failed", "running", "success")
    runs(other, "queued")
    response = client.get(STATS, params={"dag_ids": "idle,busy,missing"})
    assert response.status_code == 200
    assert response.json() == {
        "dags": [{"dag_id": "busy", "stats": stats(success=3, failed=1, running=1)},
                 {"dag_id": "idle", "stats": stats()}],
        "total_entries": 2,
    }


def test_unknown_ids_only_give_an_empty_answer(client, migrated):
    response = client.get(STATS, params={"dag_ids": "missing"})
    assert response.json() == {"dags": [], "total_entries": 0}


def test_dag_ids_are_required(client, migrated):
    assert_problem(client.get(STATS), 400, "dag_ids")


def test_one_query_whatever_the_number_of_dags_and_runs(client, migrated):
    first = sample_dag("first")
    add_dag(first)
    with queries.statements() as few:
        client.get(STATS, params={"dag_ids": "first"})
    runs(first, "success", "failed", "queued")
    for n in range(4):
        add_dag(sample_dag(f"more_{n}"))
    with queries.statements() as many:
        response = client.get(STATS, params={"dag_ids": "first,more_0,more_1,more_2,more_3"})
    assert response.json()["total_entries"] == 5
    assert len(many) == len(few)
