"""CeleryExecutor: each task instance is sent over the [celery] broker to the Celery queue its
`queue` column names, and run by a `windsock celery worker` on whichever machine takes it."""

from __future__ import annotations

import logging
import time

from sqlalchemy import select, tuple_
from sqlalchemy.exc import SQLAlchemyError

from windsock import config
from windsock.db.engine import session
from windsock.db.models import TaskInstance
from windsock.scheduler.executors import celery_app
from windsock.scheduler.executors.base import Executor, TaskKey

log = logging.getLogger(__name__)
# The states of a task instance that a worker may still be about to run, or is running.
ACTIVE_STATES = ("queued", "running", "restarting")
POLL_SECONDS = 0.2  # how often `wait` looks for finished task instances
KEY_COLUMNS = (TaskInstance.dag_id, TaskInstance.run_id, TaskInstance.task_id,
               TaskInstance.map_index)


class CeleryExecutor(Executor):
    """Sends task instances to Celery workers, at most [core] parallelism unfinished at once.

    It learns that a task instance finished from the database, not from Celery: the task runner
    on the worker records every try there, so `sync` reads, in one query, the states of the
    task instances it has and takes as finished those that are no longer queued, running or
    restarting, or are gone (and `wait` looks every POLL_SECONDS while some are out, so that
    the next round follows soon after one finished). That also frees the slot of a task
    instance whose message was lost (the scheduler moves it back to scheduled after
    [scheduler] task_queued_timeout) or whose worker died (the heartbeat timeout fails it or
    makes it up for retry). No result backend is needed, and no second record of states can
    disagree with the first.

    Sending never holds the scheduler up for long: the broker connection times out after
    [celery] operation_timeout and a failed send is not retried in place. When one fails, the
    task instances not sent yet stay in order for the next round's `sync`; one left unsent
    past task_queued_timeout goes back to scheduled and is dropped here, to be queued anew.
    """

    def __init__(self) -> None:
        self.parallelism = config.get_int("core", "parallelism")
        self.unsent: dict[TaskKey, None] = {}  # in the order queued
        self.sent: set[TaskKey] = set()
        self._broker_down = False

    def start(self) -> None:
        celery_app.app(sending=True)

    def queue(self, key: TaskKey) -> None:
        self.unsent[key] = None

    def sync(self) -> int:
        rows = self._active()
        finished = self._keys() - rows.keys()
        for key in finished:
            self.unsent.pop(key, None)
            self.sent.discard(key)
        self._send(rows)
        return len(finished)

    def wait(self, timeout: float) -> None:
        """Block until a task instance sent has finished (the database is looked at every
        POLL_SECONDS while some are out) or `timeout` seconds passed."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            time.sleep(min(POLL_SECONDS, left))
            if self.sent and self._any_finished():
                return

    @property
    def open_slots(self) -> int:
        return max(0, self.parallelism - len(self.sent) - len(self.unsent))

    def end(self) -> None:
        if self.unsent:
            log.info("%d queued task instances were not sent to Celery", len(self.unsent))
        self.unsent.clear()

    def _any_finished(self) -> bool:
        try:
            return len(self._active()) < len(self._keys())
        except SQLAlchemyError:  # the next round will tell, and log it
            return True

    def _keys(self) -> set[TaskKey]:
        return self.sent.union(self.unsent)

    def _active(self) -> dict[TaskKey, str | None]:
        """Of the task instances this executor has, the active ones, with their queue."""
        keys = self._keys()
        if not keys:
            return {}
        with session() as sess:
            return {TaskKey(*row[:4]): row[4] for row in sess.execute(
                select(*KEY_COLUMNS, TaskInstance.queue).where(
                    tuple_(*KEY_COLUMNS).in_(list(keys)),
                    TaskInstance.state.in_(ACTIVE_STATES)))}

    def _send(self, queues: dict[TaskKey, str | None]) -> None:
        """Send the unsent task instances in order, until the broker fails."""
        app = celery_app.app(sending=True)
        for key in list(self.unsent):
            try:
                app.send_task(celery_app.TASK_NAME, args=list(key), retry=False,
                              queue=queues[key] or celery_app.DEFAULT_QUEUE)
            except Exception as exc:  # noqa: BLE001 - kombu's errors vary with the transport
                if not self._broker_down:
                    log.warning("Cannot send task instances to the Celery broker (%s: %s); "
                                "trying again at each round", type(exc).__name__, exc)
                self._broker_down = True
                return
            del self.unsent[key]
            self.sent.add(key)
            if self._broker_down:
                log.info("The Celery broker takes task instances again")
                self._broker_down = False
