"""Turns to write on SQLite, shared by every thread and process that writes to one database file.

SQLite lets one transaction write at a time, and a writer that finds the lock taken polls it
from its busy handler with sleeps growing to 100 ms. With many writers (API workers, the
scheduler, a runner per running task) the lock is handed over late and unfairly: some writers
lose round after round and wait seconds while the lock is mostly free. A turn is an exclusive
`flock` on a file next to the database (`<database>.write-turn`), taken before the transaction
begins and given back when it ends: the kernel wakes the next writer the moment the turn is
free, and SQLite's own lock is then free too (unless a writer that takes no turn holds it).

Within a process, threads first take turns on a lock of their own, so only one of them waits
for the file. A wait is bounded: past it, `TimeoutError` (sqlalchemy's) is raised. A turn is
re-entrant within a thread, so a write transaction that calls code taking a turn waits for no
one.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc

_process_turn = threading.Lock()  # the turn of this process's threads
_held = threading.local()  # whether this thread holds the turn


class _FileWait:
    """A blocking `flock` in a thread of its own, so that the caller can give up waiting:
    when it does, the lock is given back as soon as it is granted."""

    def __init__(self, fd: int):
        self.fd = fd
        self._granted = threading.Event()
        self._abandoned = False
        self._mutex = threading.Lock()
        threading.Thread(target=self._lock, name="windsock-write-turn", daemon=True).start()

    def _lock(self) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        with self._mutex:
            if self._abandoned:
                _give_back(self.fd)
                return
            self._granted.set()

    def granted(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds; whether the lock is ours (if not, it never will be)."""
        if self._granted.wait(timeout):
            return True
        with self._mutex:
            self._abandoned = not self._granted.is_set()
            return not self._abandoned


def _give_back(fd: int) -> None:
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def _take_file(path: str, wait: float) -> int | None:
    """The turn file's descriptor, locked, or None when the lock did not come within `wait`
    seconds; each turn opens its own (a lock belongs to the open file, which a forked child
    would otherwise share)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd
    except BlockingIOError:
        pass
    return fd if _FileWait(fd).granted(wait) else None


@contextmanager
def turn(path: str | None, wait: float) -> Iterator[float]:
    """This thread's turn to write to the SQLite database file `path` (None: an in-memory
    database, for which this process's turn is enough); yields the seconds left of `wait`."""
    if getattr(_held, "turn", False):
        yield wait
        return
    began = time.monotonic()
    late = exc.TimeoutError(f"No turn to write came within {wait:g} s.")
    if not _process_turn.acquire(timeout=wait):
        raise late
    try:
        fd = None
        if path is not None:
            fd = _take_file(f"{path}.write-turn", max(wait - (time.monotonic() - began), 0.0))
            if fd is None:
                raise late
        _held.turn = True
        try:
            yield max(wait - (time.monotonic() - began), 0.001)
        finally:
            _held.turn = False
            if fd is not None:
                _give_back(fd)
    finally:
        _process_turn.release()
