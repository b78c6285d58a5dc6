"""A try's processes: started as one process group that dies with the process that started it,
stopped together, and found again by a later try when they outlived everything.

`start` runs the command under a guard, this file run as a script with nothing but the standard
library. The guard leads a new process group (session) and runs the command in it. It holds the
read end of a pipe whose write end only the starting process (the task runner) has; when that
process dies, however it dies (SIGKILL included), the pipe reads end-of-file, and the guard
sends SIGTERM to the whole group, grandchildren included, then SIGKILL (itself included) once
the command has gone or the grace period is over. Otherwise the guard exits the way the command
did, so its starter sees the command's status, and `stop` ends the group.

Every process of the group has TRY_VARIABLE (the try's identity) in its environment. `reap`
uses it on Linux to tell a group left behind by a try (its runner and guard both killed) from
an unrelated group that reuses the same id, before stopping the former.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

PR_SET_CHILD_SUBREAPER = 36
POLL_SECONDS = 0.05
TRY_VARIABLE = "WINDSOCK_TRY"
_lifelines: dict[int, int] = {}  # guard pid -> the write end of its pipe, held until `stop`


def adopt_orphans() -> None:
    """Make the processes orphaned by this process's descendants its own children (Linux), so
    that they are reaped here even where process 1 does not reap orphans; `stop` relies on it
    to see a process group empty."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def start(argv: list[str], env: dict[str, str], tag: str, grace: float,
          **options: Any) -> subprocess.Popen:
    """Start `argv` under a guard in a new process group whose id is the returned child's pid,
    with `tag` as TRY_VARIABLE in its environment. The group is ended (SIGKILL `grace` seconds
    after SIGTERM) when this process dies or `stop`s it; `options` go to Popen (stdin, ...)."""
    lifeline, held = os.pipe()  # neither is inherited by other children
    try:
        guard = subprocess.Popen(
            [sys.executable, "-I", "-S", __file__, str(lifeline), str(grace), *argv],
            env={**env, TRY_VARIABLE: tag}, pass_fds=(lifeline,), start_new_session=True,
            **options)
    except BaseException:
        os.close(held)
        raise
    finally:
        os.close(lifeline)
    _lifelines[guard.pid] = held
    return guard


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


def _wait(gone: Callable[[], bool], seconds: float) -> bool:
    """Wait up to `seconds` for `gone()`; its last answer."""
    deadline = time.monotonic() + seconds
    while not gone():
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS)
    return True


def _terminate(group: int, gone: Callable[[], bool], grace: float) -> bool:
    """SIGTERM the process group, SIGKILL it if it is not `gone()` after `grace` seconds;
    whether it is gone (within another `grace` seconds)."""
    _signal(group, signal.SIGTERM)
    if _wait(gone, grace):
        return True
    _signal(group, signal.SIGKILL)
    return _wait(gone, grace)


def stop(child: subprocess.Popen, grace: float) -> None:
    """Stop the process group that `child` (from `start`) leads, and reap `child`. Also right
    after `child` exited on its own, for what it left."""
    def emptied() -> bool:
        if child.poll() is not None:
            _reap_orphans()
        return not _signal(child.pid, 0)

    _terminate(child.pid, emptied, grace)
    child.wait()
    os.close(_lifelines.pop(child.pid))


def _members(group: int) -> list[int]:
    """The live (not zombie) processes of a process group; none where /proc is missing."""
    members = []
    for entry in os.scandir("/proc") if os.path.isdir("/proc") else ():
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):  # not a process, or it just ended
            continue
        if fields[0] not in ("Z", "X") and int(fields[2]) == group:
            members.append(int(entry.name))
    return members


def _carries(pid: int, marker: bytes) -> bool:
    try:
        return marker in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:  # gone, or not ours to read
        return False


def reap(group: int, tag: str, timeout: float) -> bool | None:
    """SIGKILL what is left of the process group `group` of the try `tag` on this machine (that
    try has ended already): None when nothing was left (or it cannot be told on this system),
    else whether it is gone within `timeout` seconds."""
    marker = f"{TRY_VARIABLE}={tag}".encode()
    if not any(_carries(pid, marker) for pid in _members(group)):
        return None
    _signal(group, signal.SIGKILL)
    return _wait(lambda: not _members(group), timeout)


def _exit_like(code: int) -> NoReturn:
    """Exit with the status `code` of Popen.returncode: by the same signal when negative."""
    if code < 0:
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    sys.exit(code)


def _guard(lifeline: int, grace: float, argv: list[str]) -> NoReturn:
    # SIGTERM to the group is for the command; the guard goes when the command has gone.
    signal.signal(signal.SIGTERM, lambda *_: None)
    command = subprocess.Popen(argv)
    orphaned = threading.Event()

    def end_group_when_orphaned() -> None:
        os.read(lifeline, 1)  # nothing is written: this returns once the starter closed its end
        orphaned.set()
        os.killpg(0, signal.SIGTERM)
        try:
            command.wait(grace)
        except subprocess.TimeoutExpired:
            pass
        os.killpg(0, signal.SIGKILL)

    watcher = threading.Thread(target=end_group_when_orphaned, daemon=True)
    watcher.start()
    code = command.wait()
    if orphaned.is_set():
        watcher.join()  # it ends with SIGKILL to the group, this process included
    _exit_like(code)


if __name__ == "__main__":
    _guard(int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:])
