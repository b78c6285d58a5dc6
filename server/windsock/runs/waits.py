"""Waiting for DAG runs to change state, without a database connection or a thread per wait.

Each process (each event loop) has one `Watch`: an asyncio task that, while anything waits, reads
the states of every waited-for run in one query per `[api] wait_poll_interval`, on a thread of
its own, and hands each change to the waits of that run. A wait is an asyncio queue of the
states its run took; `None` says the run is gone. The poller stops when the last wait ends and
starts again with the next one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from weakref import WeakKeyDictionary

from sqlalchemy import select

from windsock import config
from windsock.db.engine import session
from windsock.db.models import DagRun

log = logging.getLogger(__name__)
# The poller's reads and the reads of a finished run's results; never a wait.
READERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="run-waits")


def current_states(run_ids: Iterable[int]) -> dict[int, str]:
    """The state of each of the runs (by primary key) that still exists, in one query."""
    with session() as sess:
        return dict(sess.execute(select(DagRun.id, DagRun.state)
                                 .where(DagRun.id.in_(list(run_ids)))).all())


class Wait:
    """One waiter on one run: `changes` receives each state the run takes after `state`."""

    def __init__(self, run_id: int, state: str) -> None:
        self.run_id, self.state = run_id, state
        self.changes: asyncio.Queue[str | None] = asyncio.Queue()

    def see(self, state: str | None) -> None:
        if state != self.state:
            self.state = state
            self.changes.put_nowait(state)


class Watch:
    """The waits of one event loop and the poller that serves them."""

    def __init__(self) -> None:
        self.waits: dict[int, set[Wait]] = {}
        self.poller: asyncio.Task | None = None
        self.polls = 0  # how many queries the poller made, for tests and benchmarks

    def start(self, run_id: int, state: str) -> Wait:
        wait = Wait(run_id, state)
        self.waits.setdefault(run_id, set()).add(wait)
        if self.poller is None:
            self.poller = asyncio.get_running_loop().create_task(self._poll())
        return wait

    def stop(self, wait: Wait) -> None:
        waits = self.waits.get(wait.run_id, set())
        waits.discard(wait)
        if not waits:
            self.waits.pop(wait.run_id, None)

    async def _poll(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self.waits:
                await asyncio.sleep(config.get_float("api", "wait_poll_interval"))
                run_ids = list(self.waits)
                if not run_ids:
                    break
                try:
                    states = await loop.run_in_executor(READERS, current_states, run_ids)
                except Exception:  # the database is away: the waits go on until their timeout
                    log.exception("could not read the states of %d waited-for runs",
                                  len(run_ids))
                    continue
                self.polls += 1
                for run_id in run_ids:
                    for wait in list(self.waits.get(run_id, ())):
                        wait.see(states.get(run_id))
        finally:
            self.poller = None


_watches: WeakKeyDictionary[asyncio.AbstractEventLoop, Watch] = WeakKeyDictionary()


def watch() -> Watch:
    """The running event loop's watch."""
    loop = asyncio.get_running_loop()
    if loop not in _watches:
        _watches[loop] = Watch()
    return _watches[loop]
