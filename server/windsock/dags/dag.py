"""The DAG: a named, scheduled set of tasks and the dependencies between them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from windsock.dags import context, datasets, schedules
from windsock.dags.params import Param, coerce
from windsock.dags.tasks import TASK_DEFAULTS, Task, check_id

DEFAULT_ARG_NAMES = frozenset(TASK_DEFAULTS)


class DAG:
    """A workflow. Create tasks inside `with DAG(...):` and chain them with `>>`.

    schedule: a cron expression, a preset (`@hourly`, `@daily`, `@weekly`, `@monthly`,
    `@yearly`), a `timedelta`, None for runs triggered by hand only, or datasets: a `Dataset`,
    a list of them (run when all were updated) or a condition built with `|` and `&`.
    default_args: task settings every task of the DAG starts from (retries, retry_delay,
    execution_timeout, pool, pool_slots, queue, priority_weight, owner, trigger_rule).
    params: run settings; plain values are defaults, `Param` adds a description and a JSON
    schema that a triggered run's `conf` must satisfy.
    """

    def __init__(self, dag_id: str, *, schedule: Any = None,
                 start_date: datetime | None = None, end_date: datetime | None = None,
                 catchup: bool = False, tags: Iterable[str] = (), owner: str | None = None,
                 description: str | None = None, doc_md: str | None = None,
                 params: Mapping[str, Any] | None = None, max_active_runs: int = 16,
                 max_active_tasks: int = 16, default_args: Mapping[str, Any] | None = None,
                 dagrun_timeout: timedelta | None = None,
                 is_paused_upon_creation: bool | None = None):
        self.dag_id = check_id("dag_id", dag_id)
        self.start_date = schedules.as_utc(start_date) if start_date else None
        self.end_date = schedules.as_utc(end_date) if end_date else None
        self.dataset_condition = datasets.condition(schedule)
        self.schedule = (None if self.dataset_condition is not None
                         else schedules.make(schedule, self.start_date))
        self.catchup = catchup
        self.tags = sorted(set(tags))
        self.description = description
        self.doc_md = doc_md
        self.params: dict[str, Param] = coerce(params)
        if max_active_runs < 1 or max_active_tasks < 1:
            raise ValueError(f"DAG {dag_id!r}: max_active_runs and max_active_tasks must be >= 1")
        self.max_active_runs = max_active_runs
        self.max_active_tasks = max_active_tasks
        self.default_args = dict(default_args or {})
        unknown = set(self.default_args) - DEFAULT_ARG_NAMES
        if unknown:
            raise ValueError(f"DAG {dag_id!r}: unknown default_args {', '.join(sorted(unknown))}; "
                             f"known: {', '.join(sorted(DEFAULT_ARG_NAMES))}")
        if owner is not None:
            self.default_args.setdefault("owner", owner)
        self.dagrun_timeout = dagrun_timeout
        self.is_paused_upon_creation = is_paused_upon_creation
        self.tasks: dict[str, Task] = {}
        self.fileloc: str | None = None

    def __enter__(self) -> DAG:
        context.push(self)
        return self

    def __exit__(self, *exc) -> None:
        context.pop()

    def add_task(self, task: Task) -> None:
        if task.task_id in self.tasks:
            raise ValueError(f"DAG {self.dag_id!r} already has a task {task.task_id!r}")
        self.tasks[task.task_id] = task

    def unique_task_id(self, wanted: str) -> str:
        """`wanted`, or `wanted__2`, `wanted__3`, ... when a decorated task is called again."""
        candidate, number = wanted, 1
        while candidate in self.tasks:
            number += 1
            candidate = f"{wanted}__{number}"
        return candidate

    @property
    def owners(self) -> list[str]:
        return sorted({task.owner for task in self.tasks.values()}) or [
            self.default_args.get("owner", TASK_DEFAULTS["owner"])]

    def check(self) -> None:
        """Raise ValueError when the tasks form a cycle."""
        visiting, done = set(), set()

        def visit(task_id: str, path: list[str]) -> None:
            if task_id in done:
                return
            if task_id in visiting:
                raise ValueError(f"DAG {self.dag_id!r} has a cycle: {' >> '.join(path)}")
            visiting.add(task_id)
            for child in sorted(self.tasks[task_id].downstream_task_ids):
                visit(child, [*path, child])
            visiting.discard(task_id)
            done.add(task_id)

        for task_id in sorted(self.tasks):
            visit(task_id, [task_id])

    def __repr__(self) -> str:
        return f"<DAG {self.dag_id}>"
