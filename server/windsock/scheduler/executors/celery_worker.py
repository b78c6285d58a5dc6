"""`windsock celery worker`: a Celery worker that runs the task instances sent to its queues, on
any machine that reaches the database, the broker and the DAG files (at the same path), and
serves this machine's task logs to the API servers while it runs (see log_server).

It runs tasks the warm way the local executor does: Windsock and the DAG-loading machinery are
imported before Celery forks its pool of processes, each of which then runs the task runner
in-process for one task instance after another.
"""

from __future__ import annotations

import os
import signal

from celery.signals import worker_process_init

from windsock import config, log_server
from windsock.db import engine
from windsock.scheduler.executors import celery_app, workers


@worker_process_init.connect
def _forked(**_) -> None:
    """In each new pool process: the parent's database connections stay the parent's."""
    engine.engine().dispose(close=False)


def run(queues: list[str], concurrency: int) -> None:
    """Run a worker taking task instances from `queues`, at most `concurrency` at once, with
    the log server beside it, until the worker stops (SIGTERM: once its tasks are done)."""
    workers.preload()
    try:
        server = log_server.start()
    except OSError as exc:
        raise ValueError(f"Cannot serve the task logs on [logging] worker_log_server_host and "
                         f"_port: {exc}") from None
    try:
        celery_app.app().worker_main([
            "worker", f"--queues={','.join(queues)}", f"--concurrency={concurrency}",
            "--pool=prefork", f"--hostname=windsock@{config.hostname()}", "--loglevel=INFO",
            "--without-gossip", "--without-mingle"])
    finally:
        os.kill(server, signal.SIGTERM)
        os.waitpid(server, 0)
