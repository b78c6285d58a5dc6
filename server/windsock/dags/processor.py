"""The DAG file processor: finds DAG files, imports each in a process of its own with a timeout
(forked from a warm one, see `windsock.dags.imports`) and stores the results, one transaction
per file.

Only files whose (mtime, size) changed since they last loaded are imported again; files the API
asked for (`request_parse`) are imported whatever their state.
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from windsock import config, plugins
from windsock.dags import imports, store
from windsock.db.engine import session
from windsock.db.models import DagCode, DagParsingRequest, utcnow
from windsock.db.models import ImportError as ImportErrorRow

EXAMPLES_FOLDER = Path(__file__).resolve().parent.parent / "examples"
PARALLELISM = max(2, min(4, os.cpu_count() or 1))

log = logging.getLogger(__name__)


def dag_files() -> list[str]:
    """Absolute paths of the `*.py` files under the DAGs folder (hidden entries and
    __pycache__ skipped), then of the examples when `[core] load_examples` is on."""
    files = []
    folder = os.path.abspath(config.get("core", "dags_folder"))
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        files += [os.path.join(root, name) for name in sorted(names)
                  if name.endswith(".py") and not name.startswith(".")]
    if config.get_bool("core", "load_examples"):
        files += sorted(str(path) for path in EXAMPLES_FOLDER.glob("example_*.py"))
    return files


def request_parse(sess: Session, file_token: str) -> bool:
    """Ask the processor to parse the file with this token soon; False for an unknown token."""
    fileloc = sess.scalar(select(DagCode.fileloc).where(DagCode.file_token == file_token))
    if fileloc is not None:
        sess.add(DagParsingRequest(fileloc=fileloc, requested_at=utcnow()))
    return fileloc is not None


def _take_requests() -> set[str]:
    with session() as sess:
        requests = sess.scalars(select(DagParsingRequest)).all()
        if requests:
            sess.execute(delete(DagParsingRequest)
                         .where(DagParsingRequest.id.in_([r.id for r in requests])))
    return {request.fileloc for request in requests}


def _stat(path: str) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


@dataclass
class PassSummary:
    """What one pass did; `str()` gives a one-line report."""

    files_seen: int
    files_parsed: int = 0
    dags_written: int = 0
    import_errors: int = 0
    duration: float = 0.0
    file_durations: dict[str, float] = field(default_factory=dict)

    @property
    def files_skipped(self) -> int:
        return self.files_seen - self.files_parsed

    def __str__(self) -> str:
        skipped = f" ({self.files_skipped} unchanged skipped)" if self.files_skipped else ""
        return (f"Parsed {_plural(self.files_parsed, 'file')}{skipped} in {self.duration:.1f} s: "
                f"{_plural(self.dags_written, 'DAG')}, "
                f"{_plural(self.import_errors, 'import error')}")


@dataclass(frozen=True)
class _Parsed:
    path: str
    stat: tuple[int, int] | None
    result: dict[str, Any]  # the loader's output: {"dags": [...]} or {"error": "..."}
    source: str | None
    duration: float


def _record_plugin_failures(sess: Session, failures: dict[str, str]) -> None:
    """Show each plugin this process could not load as an import error of its file (or entry
    point); the error goes once the plugin loads (after a restart)."""
    if not failures:
        return
    sess.execute(delete(ImportErrorRow).where(ImportErrorRow.filename.in_(failures)))
    now = utcnow()
    sess.add_all(ImportErrorRow(filename=source, timestamp=now,
                                stack_trace=f"Plugin failed to load:\n{error}")
                 for source, error in failures.items())


class DagProcessor:
    """Parses DAG files into the database, remembering between passes which files loaded."""

    def __init__(self) -> None:
        self._loaded: dict[str, tuple[int, int]] = {}  # path -> (mtime_ns, size) when it loaded
        self._stopped = False

    def stop(self) -> None:
        """Stop soon: running imports are killed and nothing more is stored. Signal-safe."""
        self._stopped = True

    def run(self, refresh_interval: float) -> None:
        """Pass over all files every `refresh_interval` seconds and over the files the API asked
        for every second, until stop()."""
        next_pass = 0.0
        while not self._stopped:
            try:
                if time.monotonic() >= next_pass:
                    next_pass = time.monotonic() + refresh_interval
                    self.run_pass()
                else:
                    self.parse_requested()
            except Exception:  # noqa: BLE001 - a database hiccup must not end the processor
                log.exception("DAG processing failed; trying again")
            time.sleep(1)

    def run_pass(self, force: bool = False) -> PassSummary:
        """Parse requested, new and changed files (every file when `force`); forget the
        files that are gone."""
        began = time.monotonic()
        requested = _take_requests()
        files = dag_files()
        failed_plugins = plugins.failures()
        with session() as sess:
            store.forget_missing_files(sess, set(files) | set(failed_plugins))
            _record_plugin_failures(sess, failed_plugins)
        stats = {path: _stat(path) for path in files}
        self._loaded = {path: s for path, s in self._loaded.items() if path in stats}
        todo = [path for path in files if stats[path] is not None and (
            force or path in requested or self._loaded.get(path) != stats[path])]
        return self._parse_and_store(todo, len(files), began)

    def parse_requested(self) -> PassSummary | None:
        """Parse only the files the API asked for; None when there were none."""
        began = time.monotonic()
        files = sorted(path for path in _take_requests() if os.path.isfile(path))
        return self._parse_and_store(files, len(files), began) if files else None

    def _parse_and_store(self, files: list[str], seen: int, began: float) -> PassSummary:
        summary = PassSummary(files_seen=seen)
        timeout = config.get_int("dag_processor", "file_parsing_timeout")
        with ThreadPoolExecutor(PARALLELISM, thread_name_prefix="dag-file") as pool:
            futures = [pool.submit(self._parse, path, timeout) for path in files]
            for future in as_completed(futures):
                parsed = future.result()
                if parsed is not None:
                    self._store(parsed, summary)
        summary.duration = time.monotonic() - began
        log.info("%s", summary)
        return summary

    def _store(self, parsed: _Parsed, summary: PassSummary) -> None:
        with session() as sess:
            error = store.store_result(sess, parsed.path, parsed.result, parsed.source, utcnow())
        summary.files_parsed += 1
        summary.file_durations[parsed.path] = parsed.duration
        if error:
            summary.import_errors += 1
            self._loaded.pop(parsed.path, None)  # a failing file is tried again every pass
            log.warning("Import error in %s:\n%s", parsed.path, error)
        else:
            summary.dags_written += len(parsed.result["dags"])
            self._loaded[parsed.path] = parsed.stat

    def _parse(self, path: str, timeout: int) -> _Parsed | None:
        """Import `path` in a process of its own; None when stopped meanwhile."""
        if self._stopped:
            return None
        began, stat = time.monotonic(), _stat(path)
        result = imports.import_file(path, timeout, lambda: self._stopped)
        if result is None:
            return None
        source = None
        if result.get("dags"):
            source = Path(path).read_text(encoding="utf-8", errors="replace")
        return _Parsed(path, stat, result, source, time.monotonic() - began)
