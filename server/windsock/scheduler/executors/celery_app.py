"""The Celery application that the CeleryExecutor sends task instances with and `windsock
celery worker` runs them with, and its one task, `windsock.run_task`.

A message names a task instance (its key) and nothing more: the worker's task runner reads the
rest from the database and claims the task instance there, so a message delivered twice, or
late, runs nothing (the task instance is no longer queued; run_task returns 0).

Messages are durable: the broker keeps a message until the worker acknowledges it, which it
does only once the task runner has returned (acks_late); when the worker process running it
dies, the message goes back to the queue (reject_on_worker_lost), and when the whole worker
dies, the broker hands it out again after its visibility timeout (Redis). A worker takes one
message ahead per process (prefetch multiplier 1), so a worker that dies holds few back.
"""

from __future__ import annotations

import signal
from functools import cache

from celery import Celery

from windsock import config
from windsock.dags.tasks import TASK_DEFAULTS
from windsock.scheduler.executors.base import TaskKey

TASK_NAME = "windsock.run_task"
DEFAULT_QUEUE = TASK_DEFAULTS["queue"]  # of a task that names none
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def run_task(dag_id: str, run_id: str, task_id: str, map_index: int) -> int:
    """Run one try of the task instance in this worker process, as the local executor's warm
    workers do (see runner.run_task); the runner's exit code."""
    from windsock.scheduler import runner

    handlers = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    try:
        return runner.run_task(TaskKey(dag_id, run_id, task_id, map_index))
    finally:
        for signum, handler in handlers.items():  # the runner's are for the run only
            signal.signal(signum, handler)
        if runner.stop_requested():  # what asked the runner to stop meant this process too
            signal.raise_signal(signal.SIGTERM)


@cache
def app(*, sending: bool = False) -> Celery:
    """The application, configured from [celery]; for `sending` only (the scheduler's), a
    connection to a broker that is down fails at once rather than being tried again until the
    broker answers, as a worker's is."""
    timeout = config.get_float("celery", "operation_timeout")
    retries = {"max_retries": 0} if sending else {}
    celery = Celery("windsock", broker=config.get("celery", "broker_url"), set_as_current=False)
    celery.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        task_default_queue=DEFAULT_QUEUE,
        broker_connection_timeout=timeout,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"socket_connect_timeout": timeout, **retries},
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,  # a task's own output goes to its log file, not Celery's
    )
    celery.task(name=TASK_NAME)(run_task)
    return celery
