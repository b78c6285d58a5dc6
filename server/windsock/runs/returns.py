"""The return values of a run's tasks, as the tasks downstream of them receive them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from windsock.dags.tasks import RETURN_VALUE
from windsock.db.models import XCom


def return_values(sess: Session, dag_id: str, run_id: str,
                  tasks: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The return values of `tasks` (serialized, by id) in the run, by task id: a mapped task's
    is the list of its instances' values in map index order (empty when it expanded into none;
    an instance that returned nothing is left out); a task that returned nothing has none."""
    values: dict[str, Any] = {task_id: [] for task_id, task in tasks.items() if "expand" in task}
    rows = sess.execute(select(XCom.task_id, XCom.map_index, XCom.value).where(
        XCom.dag_id == dag_id, XCom.run_id == run_id, XCom.task_id.in_(list(tasks)),
        XCom.key == RETURN_VALUE).order_by(XCom.task_id, XCom.map_index))
    for task_id, map_index, value in rows:
        if "expand" in tasks[task_id]:
            values[task_id].append(json.loads(value))
        elif map_index == -1:
            values[task_id] = json.loads(value)
    return values


def requested(sess: Session, dag_id: str, run_id: str,
              tasks: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The return value of each of `tasks` (serialized, by id), as `return_values` gives them;
    None for a task that returned nothing."""
    values = return_values(sess, dag_id, run_id, tasks)
    return {task_id: values.get(task_id) for task_id in tasks}
