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
