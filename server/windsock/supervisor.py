"""Running `windsock` commands side by side as child processes, as `windsock standalone` does:
until a signal (SIGINT, SIGTERM) or one of them ending, then stopping them all."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence

STOP_TIMEOUT = 30  # seconds the children get to exit after SIGTERM, before SIGKILL
POLL_SECONDS = 0.2

log = logging.getLogger(__name__)


def run_children(commands: Mapping[str, Sequence[str]]) -> int:
    """Run `python -m windsock.cli <command>` for each named command, each in its own session
    (so a terminal's Ctrl-C reaches them only through this process). Returns 0 when stopped by a
    signal, 1 when a child ended by itself (the others are stopped then too)."""
    signals: list[int] = []
    previous = {signum: signal.signal(signum, lambda received, _frame: signals.append(received))
                for signum in (signal.SIGINT, signal.SIGTERM)}
    children: dict[str, subprocess.Popen] = {}
    try:
        for name, command in commands.items():
            children[name] = subprocess.Popen([sys.executable, "-m", "windsock.cli", *command],
                                              start_new_session=True)
        while not signals:
            for name, child in children.items():
                if child.poll() is not None:
                    log.error("The %s exited with code %s; stopping the others", name,
                              child.returncode)
                    return 1
            time.sleep(POLL_SECONDS)
        log.info("Received %s; stopping", signal.Signals(signals[0]).name)
        return 0
    finally:
        stop(children)
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def stop(children: Mapping[str, subprocess.Popen], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM every child still running, wait for them, SIGKILL those still running after
    `timeout` seconds."""
    for child in children.values():
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + timeout
    for name, child in children.items():
        try:
            child.wait(max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            log.warning("The %s did not stop within %s s; killing it", name, timeout)
            child.kill()
            child.wait()
