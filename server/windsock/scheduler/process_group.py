"""A try's processes: started as one process group that dies with the process that started it,
stopped together, and found again by a later try when they outlived everything.

`start` forks a guard from the calling process (the task runner, warm: nothing is imported
again). The guard leads a new process group (session) and forks the command in it: a command
line is executed, a Python callable is called in the forked process itself. The guard holds the
read end of a pipe whose write end only the starting process has; when that process dies,
however it dies (SIGKILL included), the pipe reads end-of-file, and the guard sends SIGTERM to
the whole group, grandchildren included, then SIGKILL (itself included) once the command has
gone or the grace period is over. Otherwise the guard exits the way the command did, so its
starter sees the command's status, and `stop` ends the group.

Every process of the group has TRY_VARIABLE (the try's identity) in its environment, and the
guard's and a called command's process titles name it too (a forked process's environment is
not visible from outside). `reap` uses them on Linux to tell a group left behind by a try (its
runner and guard both killed) from an unrelated group that reuses the same id, before
stopping the former.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import setproctitle

from windsock import forking

PR_SET_CHILD_SUBREAPER = 36
POLL_SECONDS = 0.05
TRY_VARIABLE = "WINDSOCK_TRY"
TITLE = "windsock try "  # + the try's tag: the process title of a try's guard and called command
Command = list[str] | Callable[[], None]
_lifelines: dict[int, int] = {}  # guard pid -> the write end of its pipe, held until `stop`


def adopt_orphans() -> None:
    """Make the processes orphaned by this process's descendants its own children (Linux), so
    that they are reaped here even where process 1 does not reap orphans; `stop` relies on it
    to see a process group empty."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


class Guard:
    """The guard of a started group, as the starter sees it: `pid` (also the group's id) and,
    like a Popen, `poll`, `wait` and `returncode`."""

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """The exit status, once the guard exited; TimeoutExpired after `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(f"guard {self.pid}", timeout)
            _exited(self.pid, left)
        return self.returncode


def _exited(pid: int, timeout: float | None) -> None:
    """Wait until `pid` (a child) exits or `timeout` seconds pass, without reaping it."""
    try:
        handle = os.pidfd_open(pid)
    except (AttributeError, OSError):  # no pidfd here: poll
        time.sleep(POLL_SECONDS if timeout is None else min(POLL_SECONDS, timeout))
        return
    try:
        select.select([handle], [], [], timeout)
    finally:
        os.close(handle)


def start(command: Command, env: dict[str, str], tag: str, grace: float, *,
          output: int) -> Guard:
    """Fork a guard that leads a new process group whose id is its pid and runs `command` in
    it (a command line, or a callable run in a forked process), with `env` as its environment
    plus `tag` as TRY_VARIABLE, stdin from /dev/null and stdout and stderr to the file
    descriptor `output`. The group is ended (SIGKILL `grace` seconds after SIGTERM) when this
    process dies or `stop`s it."""
    lifeline, held = os.pipe()

    def guard() -> NoReturn:
        os.close(held)
        _guard(command, {**env, TRY_VARIABLE: tag}, tag, grace, lifeline, output)

    pid = forking.fork(guard, "A process group's guard")
    os.close(lifeline)
    _lifelines[pid] = held
    return Guard(pid)


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


def stop(child: Guard, grace: float) -> None:
    """Stop the process group that `child` (from `start`) leads, and reap `child`. Also right
    after `child` exited on its own, for what it left."""
    def emptied() -> bool:
        if child.poll() is not None:
            _reap_orphans()
        return not _signal(child.pid, 0)

    _terminate(child.pid, emptied, grace)
    child.wait()
    os.close(_lifelines.pop(child.pid))


def _processes() -> Iterator[tuple[int, int]]:
    """(pid, process group) of each live (not zombie) process; none where /proc is missing."""
    for entry in os.scandir("/proc") if os.path.isdir("/proc") else ():
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):  # not a process, or it just ended
            continue
        if fields[0] not in ("Z", "X"):
            yield int(entry.name), int(fields[2])


def _members(group: int) -> list[int]:
    """The live processes of a process group."""
    return [pid for pid, of in _processes() if of == group]


def _carries(pid: int, tag: str) -> bool:
    """Whether the process `pid` belongs to the try `tag`: its environment (as it was when the
    process started a program) or its title says so."""
    try:
        proc = Path(f"/proc/{pid}")
        return (f"{TRY_VARIABLE}={tag}".encode() in (proc / "environ").read_bytes().split(b"\0")
                or (proc / "cmdline").read_bytes().rstrip(b"\0") == (TITLE + tag).encode())
    except OSError:  # gone, or not ours to read
        return False


def reap(group: int | None, tag: str, timeout: float) -> bool | None:
    """SIGKILL what is left on this machine of the try `tag` (that try has ended already): its
    process group `group`, or when it is not known, the groups of the processes that carry the
    tag. None when nothing was left (or it cannot be told on this system), else whether it is
    gone within `timeout` seconds."""
    if group is None:
        groups = {of for pid, of in _processes() if _carries(pid, tag)}
    else:
        groups = {group} if any(_carries(pid, tag) for pid in _members(group)) else set()
    if not groups:
        return None
    for each in groups:
        _signal(each, signal.SIGKILL)
    return _wait(lambda: not any(of in groups for _, of in _processes()), timeout)


def _exit_like(code: int) -> NoReturn:
    """Exit with the status `code` of Popen.returncode: by the same signal when negative."""
    if code < 0:
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    os._exit(code)


def _run(command: Command) -> NoReturn:
    """In the forked command process: execute the command line, or call the callable and exit
    0 when it returns, 1 when it raises (its traceback goes to the output), or as it asks with
    SystemExit."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if not callable(command):
        os.execvp(command[0], command)
    code = 0
    try:
        command()
    except SystemExit as exc:
        if isinstance(exc.code, int) or exc.code is None:
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except BaseException:  # noqa: BLE001 - the task's own error, for its log
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def _guard(command: Command, env: dict[str, str], tag: str, grace: float, lifeline: int,
           output: int) -> NoReturn:
    os.setsid()
    os.environ.clear()
    os.environ.update(env)
    setproctitle.setproctitle(TITLE + tag)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(output, 1)
    os.dup2(output, 2)
    sys.stdout.reconfigure(line_buffering=True)
    # SIGTERM to the group is for the command; the guard goes when the command has gone.
    signal.signal(signal.SIGTERM, lambda *_: None)
    body = os.fork()
    if body == 0:
        os.close(lifeline)
        _run(command)
    orphaned = threading.Event()

    def end_group_when_orphaned() -> None:
        os.read(lifeline, 1)  # nothing is written: this returns once the starter closed its end
        orphaned.set()
        os.killpg(0, signal.SIGTERM)
        _exited(body, grace)
        os.killpg(0, signal.SIGKILL)

    watcher = threading.Thread(target=end_group_when_orphaned, daemon=True)
    watcher.start()
    code = os.waitstatus_to_exitcode(os.waitpid(body, 0)[1])
    if orphaned.is_set():
        watcher.join()  # it ends with SIGKILL to the group, this process included
    _exit_like(code)
