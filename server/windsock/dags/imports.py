"""Importing one DAG file in a process of its own, forked from a warm one.

Each file is imported in a fresh process, so that what it imports, changes or leaves running
stays there and a file that hangs can be killed. Those processes are forked by a fork server
(multiprocessing's `forkserver`) that imported Windsock once, when the first file was imported:
a file costs a fork rather than a new interpreter importing Windsock again (about 0.1 s each).
The fork server is a single-threaded process of its own, so the threads of the process asking
(the DAG processor imports several files at once) are never forked.

The forked process leads a session of its own (so it is killed with whatever it started), sends
the loader's result as JSON, and writes what the file prints, on stdout or stderr, to a file
the asking process reads.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from windsock.dags import loader

POLL_SECONDS = 0.2


def _preloaded() -> list[str]:
    """What the fork server imports: Windsock's loader, and the module this program runs as
    (`windsock.cli`), which each forked process runs again as multiprocessing's `__mp_main__`
    (cheap once its imports are done)."""
    main = getattr(sys.modules["__main__"].__spec__, "name", None)
    return ["windsock", "windsock.dags.imports", *([main] if main else [])]


_forks = multiprocessing.get_context("forkserver")
_forks.set_forkserver_preload(_preloaded())
# A forked process running the main module again finds it imported (which is what makes that
# cheap), and runpy would warn about it each time.
warnings.filterwarnings("ignore", r"'.*' found in sys\.modules after import of package",
                        RuntimeWarning)

log = logging.getLogger(__name__)


def _import_here(path: str, environment: dict[str, str], output: str,
                 results: Connection) -> None:
    """What the forked process runs, in the asking process's environment (the fork server's
    is the one it started with)."""
    os.setsid()
    os.environ.clear()
    os.environ.update(environment)
    fd = os.open(output, os.O_WRONLY | os.O_APPEND)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    results.send(json.dumps(loader.load_result(path), default=str))
    os._exit(0)  # not waiting for threads the file may have left running


def _kill(process: multiprocessing.process.BaseProcess) -> None:
    """Kill the process and whatever it started (its session's process group), then reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.kill()
    process.join()


def import_file(path: str, timeout: float, stopped: Callable[[], bool]) -> dict[str, Any] | None:
    """The loader's result for `path` ({"dags": [...]} or {"error": "..."}), imported in a forked
    process killed after `timeout` seconds (an error then); None when `stopped()` became true
    meanwhile (the process is killed)."""
    began = time.monotonic()
    fd, output = tempfile.mkstemp(prefix="windsock-dag-import-")
    os.close(fd)
    receiver, sender = _forks.Pipe(duplex=False)
    process = _forks.Process(target=_import_here, args=(path, dict(os.environ), output, sender),
                             name=f"import {path}")
    try:
        process.start()
        sender.close()
        while not receiver.poll(POLL_SECONDS):
            if stopped():
                _kill(process)
                return None
            if time.monotonic() - began >= timeout:
                _kill(process)
                return {"error": f"Timed out after {timeout:g} s while importing {path}"}
        try:
            result = json.loads(receiver.recv())
        except EOFError:  # it ended without a result
            process.join()
            with open(output, encoding="utf-8", errors="replace") as printed:
                return {"error": f"Importing {path} ended with exit code {process.exitcode} and "
                                 f"no result. Its output:\n{printed.read()[-4000:]}"}
        process.join()
        with open(output, encoding="utf-8", errors="replace") as printed:
            if text := printed.read():
                log.debug("Output of %s while importing:\n%s", path, text)
        return result
    finally:
        receiver.close()
        os.unlink(output)
