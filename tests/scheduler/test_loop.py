"""The scheduler with the real LocalExecutor, in-process one round at a time: DAG files parsed
by the real processor, tasks run by real `windsock tasks run` processes."""

from __future__ import annotations

import json
import time

from sqlalchemy import select

from tests.scheduler.rounds import now, run_states, ti_states
from windsock.dags.processor import DagProcessor
from windsock.db.engine import session
from windsock.db.models import Dag, Job, SerializedDag
from windsock.runs.states import FINISHED_RUN_STATES
from windsock.runs.trigger import create_run
from windsock.scheduler.executors import LocalExecutor
from windsock.scheduler.loop import Scheduler

TIMEOUT = 90


def trigger(dag_id: str, conf: dict) -> None:
    with session() as sess:
        sess.get(Dag, dag_id).is_paused = False
        data = json.loads(sess.scalar(select(SerializedDag.data)
                                      .where(SerializedDag.dag_id == dag_id)))
        create_run(sess, data, run_id="manual", logical_date=now(), conf=conf,
                   run_type="manual")


def run_until_finished(scheduler: Scheduler, dag_id: str) -> str:
    deadline = time.monotonic() + TIMEOUT
    while run_states(dag_id)["manual"] not in FINISHED_RUN_STATES:
        assert time.monotonic() < deadline, ti_states(dag_id, "manual")
        scheduler.run_once()
        time.sleep(0.2)
    return run_states(dag_id)["manual"]


def test_the_local_executor_runs_the_branch_example_to_the_end(dags_folder, monkeypatch):
    monkeypatch.setenv("WINDSOCK__CORE__LOAD_EXAMPLES", "True")
    DagProcessor().run_pass(force=True)
    trigger("example_branch", {"mode": "thorough"})
    scheduler = Scheduler(LocalExecutor())
    scheduler.start()
    try:
        assert run_until_finished(scheduler, "example_branch") == "success"
    finally:
        scheduler.stop()
        scheduler.end()

    assert ti_states("example_branch", "manual") == {
        "choose_path": "success", "fast_path": "skipped", "thorough_path": "success",
        "join": "success", "cleanup": "success"}
    with session() as sess:
        job = sess.get(Job, scheduler.job_id)
        assert (job.state, job.job_type) == ("success", "scheduler") and job.end_date
