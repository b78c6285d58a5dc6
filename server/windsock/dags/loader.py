"""Import one DAG file in this process and collect the DAGs it defines at module level (the DAG
processor does so in a forked process per file, see `windsock.dags.imports`)."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import traceback

from windsock.dags.dag import DAG
from windsock.dags.serialization import serialize


def load_file(path: str) -> list[DAG]:
    """Import `path` as a fresh module; its module-level DAGs, checked, with `fileloc` set."""
    path = os.path.abspath(path)
    name = "windsock_dag_file_" + hashlib.sha256(path.encode()).hexdigest()[:16]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None:
        raise ImportError(f"{path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    dags: dict[str, DAG] = {}
    for value in vars(module).values():
        if isinstance(value, DAG) and dags.setdefault(value.dag_id, value) is not value:
            raise ValueError(f"DAG id {value.dag_id!r} is defined twice in {path}")
    for dag in dags.values():
        dag.fileloc = path
        dag.check()
    return list(dags.values())


def _traceback(exc: BaseException, path: str) -> str:
    """The traceback from the DAG file's first frame on (the loader's own frames dropped)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != path:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def load_result(path: str) -> dict:
    """{"dags": [serialized DAG, ...]} for the DAG file at `path`, or {"error": traceback}."""
    path = os.path.abspath(path)
    try:
        result = {"dags": [serialize(dag) for dag in load_file(path)]}
    except BaseException as exc:  # noqa: BLE001 - SystemExit and the like are import errors too
        result = {"error": _traceback(exc, path)}
    sys.stdout.flush()
    sys.stderr.flush()
    return result

