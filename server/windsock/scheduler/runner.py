"""The task runner, `windsock tasks run`: runs one try of one queued task instance.

It claims the task instance (queued -> running, next try number), stops what the previous try
left running on this machine, runs the task's work in a child process group forked from the
runner, which ends when the runner dies (see process_group) and whose output goes to the try's
log file, and while it runs
heartbeats every [scheduler] task_heartbeat_interval seconds (a heartbeat also records the
task's process group; without one, a later try finds what is left of this one by its tag). It stops the work when the task's
execution_timeout passes (a failure), when the runner gets SIGTERM (a failure), or when someone
else changed the task instance's state (the state stays theirs; `restarting` becomes no state,
so the task runs again). Then it records success, up_for_retry or failed.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, TextIO

from windsock import config, logs
from windsock.db.models import utcnow
from windsock.scheduler import claims, process_group, work
from windsock.scheduler.claims import Claim
from windsock.scheduler.executors import TaskKey, executor_class
from windsock.scheduler.work import TaskFailed

KILL_GRACE_SECONDS = 5.0
log = logging.getLogger(__name__)
_stop_requested = threading.Event()  # set by SIGTERM or SIGINT


class StateChanged(Exception):
    """Someone else changed the state of the task instance while it ran."""


def stop_requested() -> bool:
    """Whether this process was asked to stop (SIGTERM or SIGINT) while it ran a task."""
    return _stop_requested.is_set()


def _note(out: TextIO, message: str) -> None:
    out.write(f"[{utcnow().isoformat(timespec='milliseconds')}] {message}\n")
    out.flush()


def run_task(key: TaskKey) -> int:
    """Run the task instance `key` if it is queued: exit code 0 when it was not queued or it
    ran and succeeded, 1 otherwise (also when someone else set its state while it ran)."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: _stop_requested.set())
    claim = claims.claim(key, executor_class(config.get("core", "executor")).__name__)
    if claim is None:
        log.info("%s is not queued; not running it", "/".join(map(str, key)))
        return 0
    path = logs.log_path(key.dag_id, key.run_id, key.task_id, claim.try_number, key.map_index)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        _note(out, f"Try {claim.try_number} of {claim.max_tries + 1} of task {key.task_id!r} "
                   f"of DAG {key.dag_id!r}, run {key.run_id!r}, on {config.hostname()} "
                   f"(runner pid {os.getpid()}).")
        state, ours = _run(claim, out)
        _note(out, f"Task instance state: {state} "
                   f"(after {(utcnow() - claim.start_date).total_seconds():.2f} s).")
    return 0 if ours and state == "success" else 1


def _run(claim: Claim, out: TextIO) -> tuple[str | None, bool]:
    """Run the try and record its outcome: the task instance's state after it, and whether
    this runner set it (not someone else meanwhile)."""
    try:
        value, skipped = _work(claim, out)
        if skipped:
            _note(out, f"Skipping the tasks not followed: {', '.join(skipped)}.")
        if claims.finish(claim, "success", value, skipped):
            return "success", True
    except TaskFailed as exc:
        _note(out, f"Failed: {exc}.")
        if claims.finish(claim, claim.failure_state):
            return claim.failure_state, True
    except StateChanged:
        pass
    state = claims.release(claim)
    _note(out, f"Stopped: the task instance was changed meanwhile; its state is {state}.")
    return state, False


def _stop_previous_try(claim: Claim, out: TextIO) -> None:
    """Stop the processes that the previous try left running on this machine (when its runner
    and the runner's guard were both killed, or its runner hangs), so that no two tries of the
    task instance ever run at once."""
    if not claim.previous_here:
        return
    previous = claim.try_number - 1
    stopped = process_group.reap(claim.previous_pgid, claim.tag(previous), KILL_GRACE_SECONDS)
    what = f"the processes of try {previous}"
    if claim.previous_pgid is not None:
        what += f" (process group {claim.previous_pgid})"
    if stopped is False:
        raise TaskFailed(f"{what} are still there after SIGKILL")
    if stopped:
        _note(out, f"Stopped {what}, which were still running.")


def _work(claim: Claim, out: TextIO) -> tuple[Any, list[str]]:
    """Run the task's child process to its end; the return value and the tasks to skip."""
    _stop_previous_try(claim, out)
    with tempfile.TemporaryDirectory(prefix="windsock-task-") as folder:
        command, env = work.command(claim, claims.upstream_values(claim), Path(folder))
        process_group.adopt_orphans()
        child = process_group.start(command, env, claim.tag(), KILL_GRACE_SECONDS,
                                    output=out.fileno())
        _note(out, f"Started the task in process group {child.pid}.")
        try:
            code = _supervise(claim, child)
        finally:
            process_group.stop(child, KILL_GRACE_SECONDS)
        if code != 0:
            raise TaskFailed(f"the task's process exited with code {code}")
        return work.outcome(claim, Path(folder))


def _supervise(claim: Claim, child: process_group.Guard) -> int:
    """Wait for `child`, heartbeating; its exit code. Raises TaskFailed on timeout or SIGTERM
    and StateChanged when the task instance is no longer this try's (the caller stops it)."""
    interval = config.get_float("scheduler", "task_heartbeat_interval")
    timeout = claim.task["execution_timeout"]
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        wait = interval if deadline is None else min(interval, deadline - time.monotonic())
        try:
            return child.wait(max(wait, 0.0))
        except subprocess.TimeoutExpired:
            pass
        if _stop_requested.is_set():
            raise TaskFailed("the task runner was asked to stop")
        if deadline is not None and time.monotonic() >= deadline:
            raise TaskFailed(f"timed out after {timeout:g} s (execution_timeout)")
        if not claims.heartbeat(claim, child.pid):
            raise StateChanged
