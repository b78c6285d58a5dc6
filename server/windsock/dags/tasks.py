"""Tasks: the steps of a DAG. A Python callable (`@task`), a branch (`@task.branch`) or a shell
command (`ShellTask`), wired with `>>` / `<<` and sharing values through XComs; any of them can
be mapped over lists with `.partial(...).expand(...)` (see windsock.dags.mapping)."""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from windsock.dags import context, datasets, mapping
from windsock.links import check_template

ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,250}$")
RETURN_VALUE = "return_value"
TRIGGER_RULES = frozenset({
    "all_success", "all_failed", "all_done", "one_success", "one_failed", "one_done",
    "none_failed", "none_failed_min_one_success", "none_skipped", "all_skipped", "always",
})
TASK_DEFAULTS = {
    "owner": "windsock", "retries": 0, "retry_delay": timedelta(minutes=5),
    "execution_timeout": None, "pool": "default_pool", "pool_slots": 1, "queue": "default",
    "priority_weight": 1, "trigger_rule": "all_success",
}


def check_id(kind: str, value: str) -> str:
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise ValueError(f"{kind} {value!r} must be 1 to 250 letters, digits, '_', '-' or '.'")
    return value


class Task:
    """What every task has: an id, its DAG, scheduling settings and its neighbours."""

    def __init__(self, task_id: str, *, dag=None, trigger_rule: str | None = None,
                 retries: int | None = None, retry_delay: timedelta | None = None,
                 execution_timeout: timedelta | None = None, pool: str | None = None,
                 pool_slots: int | None = None, queue: str | None = None,
                 priority_weight: int | None = None, owner: str | None = None,
                 doc_md: str | None = None, max_active_tis_per_dag: int | None = None,
                 links: dict[str, str] | None = None, outlets: Iterable[Any] | None = None,
                 expand: Mapping[str, Any] | None = None):
        self.task_id = check_id("task_id", task_id)
        self.dag = dag or context.current_dag()
        given = {"trigger_rule": trigger_rule, "retries": retries, "retry_delay": retry_delay,
                 "execution_timeout": execution_timeout, "pool": pool,
                 "pool_slots": pool_slots, "queue": queue,
                 "priority_weight": priority_weight, "owner": owner}
        for name, value in given.items():
            if value is None:
                value = self.dag.default_args.get(name, TASK_DEFAULTS[name])
            setattr(self, name, value)
        if self.trigger_rule not in TRIGGER_RULES:
            raise ValueError(f"task {task_id!r}: unknown trigger_rule {self.trigger_rule!r}; "
                             f"use one of {', '.join(sorted(TRIGGER_RULES))}")
        if self.retries < 0 or self.pool_slots < 1:
            raise ValueError(f"task {task_id!r}: retries must be >= 0 and pool_slots >= 1")
        if max_active_tis_per_dag is not None and max_active_tis_per_dag < 1:
            raise ValueError(f"task {task_id!r}: max_active_tis_per_dag must be >= 1")
        # most instances of this task queued or running at once over all runs of its DAG
        self.max_active_tis_per_dag = max_active_tis_per_dag
        # what the task is mapped over: argument -> list or XComArg (empty: not mapped)
        self.expand_input = {} if expand is None else mapping.check(task_id, expand, XComArg)
        self.doc_md = doc_md
        self.links = dict(links or {})  # extra links: name -> URL template
        for name, template in self.links.items():
            try:
                check_template(name, template)
            except ValueError as exc:
                raise ValueError(f"task {task_id!r}: {exc}") from None
        self.outlets = datasets.outlets(outlets)  # Datasets a success of the task updates
        self.upstream_task_ids: set[str] = set()
        self.downstream_task_ids: set[str] = set()
        self.dag.add_task(self)
        for value in self.expand_input.values():
            if isinstance(value, XComArg):
                value.task >> self

    @property
    def is_mapped(self) -> bool:
        return bool(self.expand_input)

    @property
    def start_date(self) -> datetime | None:
        return self.dag.start_date

    @property
    def end_date(self) -> datetime | None:
        return self.dag.end_date

    def set_downstream(self, others: Task | XComArg | Iterable[Task | XComArg]) -> None:
        for other in _tasks(others):
            if other.dag is not self.dag:
                raise ValueError(f"{self.task_id} and {other.task_id} are in different DAGs")
            self.downstream_task_ids.add(other.task_id)
            other.upstream_task_ids.add(self.task_id)

    def set_upstream(self, others: Task | XComArg | Iterable[Task | XComArg]) -> None:
        for other in _tasks(others):
            other.set_downstream(self)

    def __rshift__(self, other):
        self.set_downstream(other)
        return other

    def __lshift__(self, other):
        self.set_upstream(other)
        return other

    def __rrshift__(self, other):  # [a, b] >> task
        self.set_upstream(other)
        return self

    def __rlshift__(self, other):  # [a, b] << task
        self.set_downstream(other)
        return self

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.dag.dag_id}.{self.task_id}>"


class XComArg:
    """The future return value of a Python task; passing it to another task makes a dependency."""

    def __init__(self, task: Task):
        self.task = task

    def __rshift__(self, other):
        return self.task >> other

    def __lshift__(self, other):
        return self.task << other

    def __rrshift__(self, other):
        other >> self.task
        return self

    def __rlshift__(self, other):
        other << self.task
        return self


def _tasks(items) -> list[Task]:
    if isinstance(items, (Task, XComArg)):
        items = [items]
    return [item.task if isinstance(item, XComArg) else item for item in items]


class Partial:
    """A task with some of its arguments fixed, waiting for `.expand(**lists)` to name the ones
    it is mapped over."""

    def __init__(self, make: Callable[[dict[str, Any]], Any]):
        self._make = make

    def expand(self, **mapped: Any):
        return self._make(mapped)


class PythonTask(Task):
    """Calls a Python function; its return value is stored as the `return_value` XCom."""

    def __init__(self, task_id: str, python_callable: Callable[..., Any],
                 op_args: Sequence[Any] = (), op_kwargs: dict[str, Any] | None = None, **options):
        super().__init__(task_id, **options)
        self.python_callable = python_callable
        self.op_args = tuple(op_args)
        self.op_kwargs = dict(op_kwargs or {})
        self.doc_md = self.doc_md or python_callable.__doc__
        for value in (*self.op_args, *self.op_kwargs.values()):
            if isinstance(value, XComArg):
                value.task >> self
        self._check_mapped_arguments()

    def _check_mapped_arguments(self) -> None:
        parameters = inspect.signature(self.python_callable).parameters
        takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
        for name in self.expand_input:
            if name in self.op_kwargs:
                raise ValueError(f"task {self.task_id!r}: {name}= is both fixed by partial() "
                                 "and mapped by expand()")
            if name not in parameters and not takes_any:
                raise ValueError(f"task {self.task_id!r}: "
                                 f"{self.python_callable.__name__}() has no argument {name!r} "
                                 "to map over")


class BranchTask(PythonTask):
    """Calls a function that returns the task id (or ids) to follow; other direct downstream
    tasks are skipped."""


class ShellTask(Task):
    """Runs a shell command; exit code 0 is success, anything else is a failure. Mapped, it
    runs once per item of the commands (or environments) it is expanded over:
    `ShellTask.partial(task_id="echo").expand(command=["echo 1", "echo 2"])`."""

    MAPPABLE = ("command", "env")

    def __init__(self, task_id: str, command: str | None = None, *,
                 env: dict[str, str] | None = None, **options):
        super().__init__(task_id, **options)
        unknown = set(self.expand_input) - set(self.MAPPABLE)
        if unknown:
            raise ValueError(f"task {task_id!r}: a shell task maps over command= or env=, "
                             f"not {', '.join(sorted(unknown))}")
        mapped = "command" in self.expand_input
        if mapped and command is not None:
            raise ValueError(f"task {task_id!r}: command= is both fixed and mapped")
        if not mapped and (not isinstance(command, str) or not command.strip()):
            raise ValueError(f"task {task_id!r}: command must be a non-empty string")
        self.command = command
        self.env = dict(env or {})

    @classmethod
    def partial(cls, task_id: str, **options: Any) -> Partial:
        """The task with `options` fixed; `.expand(command=[...])` (or env=) maps it."""
        return Partial(lambda mapped: cls(task_id, expand=mapped, **options))


def _decorator(cls: type[PythonTask]):
    def decorate(function: Callable | None = None, **options):
        def wrap(func: Callable) -> Callable[..., XComArg]:
            def build(args: Sequence[Any], kwargs: dict[str, Any],
                      mapped: dict[str, Any] | None = None) -> XComArg:
                dag = options.get("dag") or context.current_dag()
                task_id = dag.unique_task_id(options.get("task_id") or func.__name__)
                rest = {k: v for k, v in options.items() if k not in ("task_id", "dag")}
                return XComArg(cls(task_id, func, op_args=args, op_kwargs=kwargs, dag=dag,
                                   expand=mapped, **rest))

            @functools.wraps(func)
            def factory(*args, **kwargs) -> XComArg:
                return build(args, kwargs)

            factory.function = func
            factory.partial = lambda **fixed: Partial(lambda mapped: build((), fixed, mapped))
            factory.expand = lambda **mapped: build((), {}, mapped)
            return factory

        return wrap(function) if function is not None else wrap

    return decorate


task = _decorator(PythonTask)
task.branch = _decorator(BranchTask)
task.__doc__ = """Turn a function into a task factory: calling it inside a DAG adds a PythonTask.

    @task
    def extract(): ...

    @task(retries=2, pool="warehouse")
    def load(rows): ...

    load(extract())  # extract >> load, and load receives extract's return value
    load.partial(table="t").expand(rows=extract())  # one load per item extract returns
"""
