"""The scheduling loop. Each round recovers from dead processes, creates runs (scheduled,
dataset-triggered and backfill runs) and starts them, decides task instances, finishes runs and
completes backfills, then queues task instances and hands them to the executor. Each step is
one transaction that starts with the scheduler job's heartbeat. `run_round` is the database
side of a round, which tests drive one round at a time."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy.orm import Session

from windsock import config
from windsock.db.engine import write_session
from windsock.db.models import utcnow
from windsock.runs.graph import tasks_by_id
from windsock.scheduler import backfills, decisions, jobs, queueing, recovery, runs
from windsock.scheduler.executors import Executor, TaskKey

log = logging.getLogger(__name__)


class Scheduler:
    """One scheduler: its job row, its executor and its rounds."""

    def __init__(self, executor: Executor):
        self.executor = executor
        self.job_id: int | None = None
        self._stopping = False

    def start(self) -> None:
        """Register the job and start the executor."""
        with write_session() as sess:
            self.job_id = jobs.start(sess, utcnow()).id
        self.executor.start()

    def stop(self) -> None:
        """Queue nothing more and end after the current round. Signal-safe."""
        self._stopping = True

    def end(self) -> None:
        """End the executor (its running tasks go on) and the job."""
        self.executor.end()
        with write_session() as sess:
            jobs.end(sess, self.job_id, utcnow())

    def run(self) -> None:
        """Start, run rounds until stop(), end. A round follows at once when the previous one
        queued or finished something; otherwise the next comes when a task instance finishes
        or after [scheduler] loop_interval seconds."""
        interval = config.get_int("scheduler", "loop_interval")
        self.start()
        log.info("Scheduler job %s started", self.job_id)
        try:
            while not self._stopping:
                busy = False
                try:
                    busy = self.run_once()
                except Exception:  # noqa: BLE001 - a database hiccup must not end the scheduler
                    log.exception("Scheduler round failed; trying again")
                if not busy:
                    self.executor.wait(interval)
        finally:
            self.end()
            log.info("Scheduler job %s ended", self.job_id)

    def run_once(self) -> bool:
        """One round, then hand what it queued to the executor and reap the executor; whether
        anything was queued or finished (then the next round is due at once)."""
        open_slots = 0 if self._stopping else self.executor.open_slots
        queued = run_round(self.job_id, open_slots)
        for key in queued:
            self.executor.queue(key)
        return bool(queued) | bool(self.executor.sync())


def run_round(job_id: int, open_slots: int) -> list[TaskKey]:
    """One round of the scheduler job `job_id` in the database; returns the keys of the task
    instances it queued (at most `open_slots`), for the executor."""
    with _step(job_id) as (sess, now):
        recovery.requeue_orphans(sess, now)
        recovery.handle_dead_tasks(sess, now)
    with _step(job_id) as (sess, now):
        runs.create_scheduled_runs(sess, now)
        runs.create_dataset_triggered_runs(sess, now)
        backfills.create_backfill_runs(sess, now)
        runs.start_queued_runs(sess, now)
    with _step(job_id) as (sess, now):
        running = runs.running_runs(sess)
        datas = runs.serialized(sess, {r.dag_id for r in running})
        tasks = {dag_id: tasks_by_id(data) for dag_id, data in datas.items()}
        live = [run for run in running if run.dag_id in tasks and not runs.time_out(
            sess, run, datas[run.dag_id]["dagrun_timeout"], now)]
        instances = decisions.task_instances(sess, live)
        for run in live:
            states = decisions.decide_run(sess, run, tasks[run.dag_id],
                                          instances[run.dag_id, run.run_id], now)
            runs.finish_run(sess, run, states, now)
        backfills.complete_backfills(sess, now)
    if open_slots <= 0:
        return []
    with _step(job_id) as (sess, now):
        return queueing.queue_tasks(sess, job_id, open_slots, now)


@contextmanager
def _step(job_id: int) -> Iterator[tuple[Session, datetime]]:
    """A transaction that starts with the job's heartbeat."""
    now = utcnow()
    with write_session() as sess:
        jobs.heartbeat(sess, job_id, now)
        yield sess, now
