"""Executors run the task instances the scheduler queued; [core] executor picks one."""

from __future__ import annotations

import importlib

from windsock.scheduler.executors.base import Executor, TaskKey
from windsock.scheduler.executors.local import LocalExecutor

# Each kind's class, imported when it is asked for (Celery's only where it is used).
EXECUTORS: dict[str, str] = {
    "local": "windsock.scheduler.executors.local:LocalExecutor",
    "celery": "windsock.scheduler.executors.celery_executor:CeleryExecutor",
}

__all__ = ["EXECUTORS", "Executor", "LocalExecutor", "TaskKey", "executor_class",
           "executor_for"]


def executor_class(name: str) -> type[Executor]:
    """The executor of the kind `name` ([core] executor): `local` or `celery`, or its class
    name (`LocalExecutor`, `CeleryExecutor`), in any case."""
    kind = name.strip().lower().removesuffix("executor")
    try:
        module, _, attribute = EXECUTORS[kind].partition(":")
    except KeyError:
        raise ValueError(f"[core] executor {name!r} is unknown; use one of "
                         f"{', '.join(sorted(EXECUTORS))}") from None
    return getattr(importlib.import_module(module), attribute)


def executor_for(name: str) -> Executor:
    """A new executor of the kind `name`."""
    return executor_class(name)()
