"""Task logs: one file per task instance try, which the executor writes and the API reads.

    {[logging] base_log_folder}/dag_id=<dag>/run_id=<run>/task_id=<task>/attempt=<n>.log

Each id is percent-encoded (only letters, digits and `_.-~:+` are kept), so it is always one
path component that cannot be `..` or hold a separator: no id can lead out of the folder.

A try that ran on another machine (a Celery worker) has its log there: `locate` then names that
machine, and `read` fetches the piece from the worker's log server (see log_server).

Logs are read in pieces from a byte offset. A continuation token names where to read on: the
offset and a check that binds it to its try, so a token that was edited, cut short or issued
for another try is refused. The check is a digest, not a secret signature: forging one would
only read the same log, which its reader may fetch whole, from another offset.
"""

from __future__ import annotations

import base64
import codecs
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import select

from windsock import config
from windsock.db.engine import session
from windsock.db.models import TaskInstance, TaskInstanceTry

# (dag_id, run_id, task_id, map_index, try_number)
TryKey = tuple[str, str, str, int, int]
MAX_CHARACTER_BYTES = 4  # a page holds at least one whole UTF-8 character


def _component(name: str, value: str) -> str:
    return f"{name}={quote(value, safe=':+')}"


class LogUnavailable(Exception):
    """The log is on a worker that cannot be read from now (the API answers 503)."""


@dataclass(frozen=True)
class WorkerLog:
    """A log on another machine: the worker `hostname`, in its base log folder at `path`."""

    hostname: str
    path: str  # relative, with `/` separators


def base_folder() -> Path:
    return Path(config.get("logging", "base_log_folder"))


def log_path(dag_id: str, run_id: str, task_id: str, try_number: int,
             map_index: int = -1) -> Path:
    """Where the log of one try of a task instance is written (a mapped instance's in a
    `map_index=N` folder of its task's, as Airflow lays them out)."""
    folder = (base_folder() / _component("dag_id", dag_id)
              / _component("run_id", run_id) / _component("task_id", task_id))
    if map_index >= 0:
        folder /= f"map_index={int(map_index)}"
    return folder / f"attempt={int(try_number)}.log"


def locate(ti: TaskInstance, try_number: int) -> Path | WorkerLog:
    """Where the log of the try `try_number` of the task instance `ti` is: its file here when
    there is one, or when the try ran here or on no machine yet; otherwise on the machine that
    ran the try (its hostname as recorded)."""
    path = log_path(ti.dag_id, ti.run_id, ti.task_id, try_number, ti.map_index)
    if path.exists():
        return path
    if try_number == ti.try_number:
        hostname = ti.hostname
    else:
        with session() as sess:
            hostname = sess.scalar(select(TaskInstanceTry.hostname).where(
                TaskInstanceTry.dag_id == ti.dag_id, TaskInstanceTry.run_id == ti.run_id,
                TaskInstanceTry.task_id == ti.task_id, TaskInstanceTry.map_index == ti.map_index,
                TaskInstanceTry.try_number == try_number))
    if not hostname or hostname == config.hostname():
        return path
    return WorkerLog(hostname, path.relative_to(base_folder()).as_posix())


def read(path: Path | WorkerLog, offset: int, max_bytes: int | None) -> tuple[str, int]:
    """The log text from byte `offset`, at most `max_bytes` of it (all with None), and the offset
    to read on from (the end of what has been written, when the piece reached it). A piece ends
    on a character boundary. A log not written yet reads as empty; an offset past the end of the
    log is a ValueError. A WorkerLog is read from its worker (LogUnavailable when that fails)."""
    if isinstance(path, WorkerLog):
        from windsock import log_server

        return log_server.fetch(path, offset, max_bytes)
    try:
        with path.open("rb") as log:
            size = os.fstat(log.fileno()).st_size
            if offset > size:
                raise ValueError(f"offset {offset} is past the end of the log ({size} bytes)")
            log.seek(offset)
            data = log.read() if max_bytes is None else log.read(
                max(max_bytes, MAX_CHARACTER_BYTES))
    except FileNotFoundError:
        if offset:
            raise ValueError(f"offset {offset} is past the end of the log (not written yet)")
        return "", 0
    end = offset + len(data)
    if end >= size:
        return data.decode("utf-8", errors="replace"), end
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    text = decoder.decode(data)
    return text, end - len(decoder.getstate()[0])  # an incomplete last character waits


def _check(key: TryKey, offset: int) -> str:
    return hashlib.sha256(json.dumps([*key, offset]).encode()).hexdigest()[:24]


def encode_token(key: TryKey, offset: int) -> str:
    """An opaque continuation token for reading the log of the try `key` from `offset`."""
    body = json.dumps({"offset": offset, "check": _check(key, offset)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def decode_token(key: TryKey, token: str) -> int:
    """The offset in `token`; ValueError unless it is a token issued for the try `key`."""
    try:
        body = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset, check = body["offset"], body["check"]
    except (ValueError, TypeError, KeyError):
        raise ValueError("not a continuation token") from None
    if type(offset) is not int or offset < 0 or check != _check(key, offset):
        raise ValueError("not a continuation token of this try")
    return offset
