"""Dynamic task mapping: a task expanded over lists runs once per combination of their items.

`load.partial(table="orders").expand(path=files())` gives `load` one task instance per item
of the list `files` returns; `expand(a=[1, 2], b=["x", "y"])` one per combination (4), in the
order of `itertools.product` over the arguments as written (the last varies fastest). Each
instance has its own map index, 0 to n-1.

An expansion's wire form, as the DAG is serialized: {argument: {"values": [...]}} for a literal
list, {argument: {"xcom": task_id}} for the return value of an upstream task. A literal-only
expansion is sized when a run is created; one over return values when its upstream tasks are
done (see windsock.scheduler.decisions).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from windsock import config

Wire = Mapping[str, Mapping[str, Any]]


class ExpansionError(ValueError):
    """The values to expand over cannot be expanded (not a list, missing, too many)."""


def max_length() -> int:
    return config.get_int("core", "max_map_length")


def check(task_id: str, expand: Mapping[str, Any], xcom_arg: type) -> dict[str, Any]:
    """The arguments of `expand(...)`, checked: at least one, each a list of JSON values or an
    upstream task's return value (an `xcom_arg`); a literal-only expansion within
    [core] max_map_length."""
    if not expand:
        raise ValueError(f"task {task_id!r}: expand() needs at least one argument to map over")
    checked: dict[str, Any] = {}
    for name, value in expand.items():
        if isinstance(value, xcom_arg):
            checked[name] = value
            continue
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"task {task_id!r}: expand() maps over lists or the return value "
                             f"of an upstream task, and {name}= is a {type(value).__name__}")
        try:
            json.dumps(list(value), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"task {task_id!r}: the items of {name}= must be JSON values "
                             f"({exc})") from None
        checked[name] = list(value)
    if all(isinstance(value, list) for value in checked.values()):
        _bounded(task_id, math.prod(len(value) for value in checked.values()))
    return checked


def wire(expand: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The wire form of checked `expand` arguments."""
    return {name: {"values": value} if isinstance(value, list) else {"xcom": value.task.task_id}
            for name, value in expand.items()}


def sources(expansion: Wire) -> list[str]:
    """The upstream tasks whose return values the expansion maps over."""
    return [source["xcom"] for source in expansion.values() if "xcom" in source]


def _lists(task_id: str, expansion: Wire, returned: Mapping[str, Any]) -> list[list[Any]]:
    lists = []
    for name, source in expansion.items():
        if "values" in source:
            lists.append(source["values"])
            continue
        upstream = source["xcom"]
        if upstream not in returned:
            raise ExpansionError(f"task {upstream!r} returned nothing, so {task_id!r} has "
                                 f"nothing to map {name}= over")
        value = returned[upstream]
        if not isinstance(value, list):
            raise ExpansionError(f"task {upstream!r} returned a {type(value).__name__}, and "
                                 f"{task_id!r} can only map {name}= over a list")
        lists.append(value)
    return lists


def _bounded(task_id: str, count: int) -> int:
    if count > max_length():
        raise ExpansionError(f"task {task_id!r} would expand into {count} task instances, more "
                             f"than [core] max_map_length ({max_length()})")
    return count


def length(task_id: str, expansion: Wire, returned: Mapping[str, Any]) -> int:
    """How many task instances the expansion makes, given the upstream tasks' return values
    (by task id)."""
    return _bounded(task_id, math.prod(len(items) for items in _lists(task_id, expansion,
                                                                        returned)))


def arguments(task_id: str, expansion: Wire, returned: Mapping[str, Any],
              map_index: int) -> dict[str, Any]:
    """The mapped arguments of the instance `map_index`."""
    lists = _lists(task_id, expansion, returned)
    if not 0 <= map_index < math.prod(len(items) for items in lists):
        raise ExpansionError(f"task {task_id!r} has no map index {map_index} in what it is "
                             "mapped over now")
    chosen: list[Any] = []
    for items in reversed(lists):
        map_index, position = divmod(map_index, len(items))
        chosen.append(items[position])
    return dict(zip(expansion, reversed(chosen)))
