"""Stopping a child process together with every process it started (its process group)."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36
POLL_SECONDS = 0.05


def adopt_orphans() -> None:
    """Make the processes orphaned by this process's descendants its own children (Linux), so
    that they are reaped here even where process 1 does not reap orphans; `stop` relies on it
    to see a process group empty."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _signal(group: int, signum: int) -> bool:
    try:
        os.killpg(group, signum)
    except ProcessLookupError:
        return False
    return True


def _reap_orphans() -> None:
    """Reap the adopted children that exited (call only once `stop`'s child was reaped)."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


def _emptied(child: subprocess.Popen, seconds: float) -> bool:
    """Wait up to `seconds` for the group of `child` to be empty, reaping what exits."""
    deadline = time.monotonic() + seconds
    while True:
        if child.poll() is not None:
            _reap_orphans()
        if not _signal(child.pid, 0):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS)


def stop(child: subprocess.Popen, grace: float) -> None:
    """SIGTERM the process group that `child` leads, SIGKILL what is left of it after `grace`
    seconds, and reap `child`. Also right after `child` exited on its own, for what it left."""
    _signal(child.pid, signal.SIGTERM)
    if not _emptied(child, grace):
        _signal(child.pid, signal.SIGKILL)
        _emptied(child, grace)
    child.wait()
