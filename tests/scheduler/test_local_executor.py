"""LocalExecutor: runs queued task instances as child processes, within its parallelism."""

from __future__ import annotations

import pytest

from tests.scheduler.conftest import new_run, ti, wait_for
from windsock.scheduler.executors import LocalExecutor, TaskKey, executor_class, executor_for

TASKS = ("t1", "t2", "t3", "t4", "t5")
MANY = "from windsock import DAG, ShellTask\n\nwith DAG('many') as dag:\n" + "".join(
    f"    ShellTask({t!r}, 'sleep 0.5; echo {t}')\n" for t in TASKS)


def test_executor_for_picks_the_configured_kind():
    assert isinstance(executor_for("local"), LocalExecutor)
    assert isinstance(executor_for(" LocalExecutor"), LocalExecutor)
    assert executor_class("CELERY").__name__ == executor_class("CeleryExecutor").__name__ == (
        "CeleryExecutor")
    with pytest.raises(ValueError, match="unknown"):
        executor_for("kubernetes")


def test_the_local_executor_runs_tasks_within_its_parallelism_and_reaps_them(add_dags,
                                                                            monkeypatch):
    add_dags(MANY)
    run_id = new_run("many", queued=TASKS)
    monkeypatch.setenv("WINDSOCK__CORE__PARALLELISM", "2")
    executor = executor_for("local")
    executor.start()
    assert executor.open_slots == 2

    for task_id in TASKS:
        executor.queue(TaskKey("many", run_id, task_id))
    assert (len(executor.running), executor.open_slots) == (2, 0)

    def all_done() -> bool:
        executor.sync()
        assert len(executor.running) <= 2
        return not executor.running and not executor.waiting

    wait_for(all_done, timeout=60, what="every task instance run")
    executor.end()
    assert executor.open_slots == 2
    tis = [ti("many", run_id, task_id) for task_id in TASKS]
    assert {t.state for t in tis} == {"success"}
    for moment in [t.start_date for t in tis]:
        assert sum(t.start_date <= moment < t.end_date for t in tis) <= 2
