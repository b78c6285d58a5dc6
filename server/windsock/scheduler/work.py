"""What a try of a task runs, in a process forked from the task runner.

A shell task runs `sh -c <command>`, each of the run's params in its environment as
`WINDSOCK_PARAM_<NAME>`. A Python task calls `main(FOLDER)` in the forked process (Windsock is
imported already): it reads FOLDER/request.json (the DAG file, the task, the params, the upstream
return values and a mapped instance's own arguments), imports the DAG file, calls the task's
function (XCom arguments replaced by those values, `params` passed when the function takes it)
and writes the return value as JSON to FOLDER/result.json. A mapped instance gets the items of
its map index (a shell task its command or environment). The child never touches the database; the runner records the
result.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import sys
from pathlib import Path
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from windsock.dags import mapping
from windsock.dags.params import resolve

if TYPE_CHECKING:
    from windsock.dags.tasks import PythonTask
    from windsock.scheduler.claims import Claim

REQUEST = "request.json"
RESULT = "result.json"
SHELL = "ShellTask"
BRANCH = "BranchTask"


class TaskFailed(Exception):
    """The try failed; the message says why."""


def command(claim: Claim, upstream: dict[str, Any], folder: Path
            ) -> tuple[list[str] | Callable[[], None], dict[str, str]]:
    """What the try's process runs (a command line, or a callable for a Python task) and its
    environment; files go to `folder`."""
    task = claim.task
    if task is None:
        raise TaskFailed(f"DAG {claim.key.dag_id!r} has no task {claim.key.task_id!r} any more")
    try:
        params = resolve(claim.dag["params"], claim.conf)
    except ValueError as exc:
        raise TaskFailed(f"the run's params are not valid: {exc}") from None
    mapped = _mapped_arguments(claim, upstream)
    if task["class_name"] == SHELL:
        env = {f"WINDSOCK_PARAM_{name.upper()}": value if isinstance(value, str)
               else json.dumps(value) for name, value in params.items()}
        return (["sh", "-c", mapped.get("command", task["command"])],
                {**os.environ, **env, **task["env"], **mapped.get("env", {})})
    request = {"fileloc": claim.dag["fileloc"], "dag_id": claim.key.dag_id,
               "task_id": claim.key.task_id, "params": params, "upstream": upstream,
               "mapped": mapped}
    (folder / REQUEST).write_text(json.dumps(request))
    return functools.partial(main, folder), {**os.environ, "PYTHONUNBUFFERED": "1"}


def _mapped_arguments(claim: Claim, upstream: dict[str, Any]) -> dict[str, Any]:
    """A mapped instance's own arguments ({} for a task that is not mapped)."""
    expansion = claim.task.get("expand")
    if expansion is None:
        return {}
    try:
        mapped = mapping.arguments(claim.key.task_id, expansion, upstream, claim.key.map_index)
    except mapping.ExpansionError as exc:
        raise TaskFailed(str(exc)) from None
    if not isinstance(mapped.get("command", ""), str) or not isinstance(
            mapped.get("env", {}), dict):
        raise TaskFailed("a shell task maps over commands (strings) and environments "
                         f"(objects), not {mapped!r}")
    return mapped


def _check_mappable(claim: Claim, value: Any) -> None:
    """A task that mapped tasks expand over must return a list (a mapped one's instances
    together make one)."""
    if "expand" in claim.task or isinstance(value, list):
        return
    consumers = sorted(task["task_id"] for task in claim.dag["tasks"]
                       if claim.key.task_id in mapping.sources(task.get("expand", {})))
    if consumers:
        raise TaskFailed(f"{', '.join(consumers)} map over what this task returns, which must "
                         f"be a list, not {type(value).__name__}")


def outcome(claim: Claim, folder: Path) -> tuple[Any, list[str]]:
    """After the child succeeded: the task's return value (None for a shell task) and, for a
    branch, the direct downstream tasks it did not follow."""
    task = claim.task
    if task["class_name"] == SHELL:
        return None, []
    try:
        value = json.loads((folder / RESULT).read_text())
    except FileNotFoundError:
        raise TaskFailed("the task's process exited before the task returned") from None
    _check_mappable(claim, value)
    if task["class_name"] != BRANCH:
        return value, []
    followed = [value] if isinstance(value, str) else [] if value is None else value
    if not isinstance(followed, list) or not all(isinstance(i, str) for i in followed):
        raise TaskFailed(f"a branch returns a task id, a list of them or None, not {value!r}")
    unknown = set(followed) - {t["task_id"] for t in claim.dag["tasks"]}
    if unknown:
        raise TaskFailed(f"the branch returned task ids that are not in the DAG: "
                         f"{', '.join(sorted(unknown))}")
    return value, sorted(set(task["downstream_task_ids"]) - set(followed))


def _find_task(request: dict[str, Any]) -> PythonTask:
    from windsock.dags.loader import load_file

    dag = next((d for d in load_file(request["fileloc"]) if d.dag_id == request["dag_id"]), None)
    if dag is None or request["task_id"] not in dag.tasks:
        sys.exit(f"Task {request['task_id']!r} of DAG {request['dag_id']!r} is not in "
                 f"{request['fileloc']} any more.")
    return dag.tasks[request["task_id"]]


def _call(task: PythonTask, params: dict[str, Any], upstream: dict[str, Any],
          mapped: dict[str, Any]) -> Any:
    from windsock.dags.tasks import XComArg

    def value(arg: Any) -> Any:
        return upstream.get(arg.task.task_id) if isinstance(arg, XComArg) else arg

    args = [value(arg) for arg in task.op_args]
    kwargs = {name: value(arg) for name, arg in task.op_kwargs.items()} | mapped
    if "params" in inspect.signature(task.python_callable).parameters:
        kwargs.setdefault("params", params)
    return task.python_callable(*args, **kwargs)


def main(folder: Path) -> None:
    request = json.loads((folder / REQUEST).read_text())
    task = _find_task(request)
    value = _call(task, request["params"], request["upstream"], request["mapped"])
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        sys.exit(f"The return value of task {task.task_id!r} cannot be stored as an XCom: it "
                 f"is not JSON ({exc}).")
    (folder / RESULT).write_text(text)

