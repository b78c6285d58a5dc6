"""Walking a serialized DAG's task graph."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def tasks_by_id(serialized: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {task["task_id"]: task for task in serialized["tasks"]}


def relatives(tasks: Mapping[str, Mapping[str, Any]], roots: Iterable[str], *,
              upstream: bool = False, downstream: bool = False) -> set[str]:
    """`roots` plus, transitively, their upstream and/or downstream tasks."""
    found = set(roots)
    directions = [d for d, wanted in (("upstream_task_ids", upstream),
                                      ("downstream_task_ids", downstream)) if wanted]
    for direction in directions:
        pending = list(roots)
        while pending:
            for neighbour in tasks[pending.pop()][direction]:
                if neighbour not in found:
                    found.add(neighbour)
                    pending.append(neighbour)
    return found


def topological_order(tasks: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Task ids, each after all of its upstream tasks (ties by id)."""
    order: list[str] = []
    placed: set[str] = set()
    pending = sorted(tasks)
    while pending:
        ready = [t for t in pending if placed.issuperset(tasks[t]["upstream_task_ids"])]
        if not ready:
            raise ValueError(f"the tasks {', '.join(pending)} form a cycle")
        order += ready
        placed.update(ready)
        pending = [t for t in pending if t not in placed]
    return order
