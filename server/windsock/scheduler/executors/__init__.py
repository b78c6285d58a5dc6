"""Executors run the task instances the scheduler queued; [core] executor picks one."""

from __future__ import annotations

from windsock.scheduler.executors.base import Executor, TaskKey
from windsock.scheduler.executors.local import LocalExecutor

EXECUTORS: dict[str, type[Executor]] = {"local": LocalExecutor}

__all__ = ["EXECUTORS", "Executor", "TaskKey", "executor_class", "executor_for"]


def executor_class(name: str) -> type[Executor]:
    """The executor of the kind `name` ([core] executor), e.g. `local`."""
    try:
        return EXECUTORS[name.strip().lower()]
    except KeyError:
        raise ValueError(f"[core] executor {name!r} is unknown; use one of "
                         f"{', '.join(sorted(EXECUTORS))}") from None


def executor_for(name: str) -> Executor:
    """A new executor of the kind `name`."""
    return executor_class(name)()
