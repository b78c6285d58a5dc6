"""Forking a child process that runs one function and then exits, so that it never returns into
the code that forked it (shared by the log server, the task worker pool and process groups)."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable

log = logging.getLogger(__name__)


def fork(child: Callable[[], object], name: str) -> int:
    """Fork a process that calls `child()` and exits: with 0 when it returns, with the code of a
    `SystemExit` it raises, with 1 (the traceback logged as `name` failing) when it raises
    anything else. The child's pid to the caller."""
    sys.stdout.flush()  # what is buffered now would otherwise be written twice
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        child()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    except BaseException:  # noqa: BLE001 - reported; whoever forked it decides what follows
        log.exception("%s failed", name)
    finally:
        os._exit(code)
