"""Two schedulers at once on the same database never queue a task instance twice, nor together
go past a pool's slots or [core] parallelism.

Each test runs rounds of two scheduler jobs in two threads, started together, on the same
scheduled task instances. On PostgreSQL the rounds really overlap (row locks decide); on SQLite
the database's single write lock serializes their steps, with the same outcome.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select, update

from tests.scheduler.rounds import new_job, now
from tests.support.seed import add_dag, add_run
from windsock import DAG, ShellTask
from windsock.db.engine import session
from windsock.db.models import Pool, TaskInstance
from windsock.scheduler.executors import TaskKey
from windsock.scheduler.loop import run_round

REPEATS = 5
TASKS = 12


@pytest.fixture
def jobs(migrated) -> tuple[int, int]:
    return new_job(), new_job()


def concurrent_rounds(jobs: tuple[int, int]) -> dict[int, list[TaskKey]]:
    """One round of each job, both started at the same moment; what each queued."""
    barrier = threading.Barrier(len(jobs))

    def round_of(job_id: int) -> list[TaskKey]:
        barrier.wait()
        return run_round(job_id, open_slots=TASKS)

    with ThreadPoolExecutor(len(jobs)) as pool:
        return dict(zip(jobs, pool.map(round_of, jobs), strict=True))


def wide_dag(dag_id: str, **task_kwargs) -> DAG:
    with DAG(dag_id) as dag:
        for number in range(TASKS):
            ShellTask(f"t{number}", "true", **task_kwargs)
    dag.fileloc = f"/dags/{dag_id}.py"
    add_dag(dag)
    return dag


def scheduled_run(dag: DAG, run_id: str = "r1") -> None:
    add_run(dag, run_id, state="running", start=now(), logical_date=now(),
            states=dict.fromkeys(dag.tasks, "scheduled"))


def queued_by_job() -> Counter[int]:
    with session() as sess:
        return Counter(sess.scalars(select(TaskInstance.queued_by_job_id)
                                    .where(TaskInstance.state == "queued")))


def test_two_schedulers_queue_each_task_instance_once(jobs):
    dag = wide_dag("wide")
    for repeat in range(REPEATS):
        scheduled_run(dag, f"r{repeat}")

        queued = concurrent_rounds(jobs)

        everything = queued[jobs[0]] + queued[jobs[1]]
        assert len(everything) == len(set(everything)) == TASKS
        assert {key.run_id for key in everything} == {f"r{repeat}"}
        with session() as sess:
            for job_id, keys in queued.items():
                assert all(sess.get(TaskInstance, key).queued_by_job_id == job_id
                           for key in keys)
            # As if they ran, so that the next repeat has DAG slots and parallelism again.
            sess.execute(update(TaskInstance).where(TaskInstance.state == "queued")
                         .values(state="success"))


def test_two_schedulers_never_overfill_a_pool(jobs):
    with session() as sess:
        sess.add(Pool(pool="pair", slots=2))
    dag = wide_dag("pooled", pool="pair")
    scheduled_run(dag)

    for _ in range(REPEATS):
        concurrent_rounds(jobs)
        assert sum(queued_by_job().values()) == 2


def test_two_schedulers_keep_to_parallelism(jobs, monkeypatch):
    monkeypatch.setenv("WINDSOCK__CORE__PARALLELISM", "3")
    dag = wide_dag("wide")
    scheduled_run(dag)

    for _ in range(REPEATS):
        concurrent_rounds(jobs)
        assert sum(queued_by_job().values()) == 3
