"""Creating a DAG run and its task instances, in the caller's transaction."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from sqlalchemy.orm import Session

from windsock.db.models import DagRun, TaskInstance


def new_run_id(run_type: str, logical_date: datetime) -> str:
    """`<type>__<logical date>__<random>`: readable, and unique even for runs triggered in the
    same instant (48 random bits)."""
    return f"{run_type}__{logical_date.isoformat()}__{secrets.token_hex(6)}"


def create_run(sess: Session, serialized: Mapping[str, Any], *, run_id: str,
               logical_date: datetime, conf: Mapping[str, Any], run_type: str,
               note: str | None = None, data_interval: tuple[datetime, datetime] | None = None,
               ) -> DagRun:
    """A queued run with one task instance per task (state not yet decided). Flushes nothing;
    the caller flushes and maps a duplicate run id or logical date to its own error."""
    now = datetime.now(timezone.utc)
    start, end = data_interval or (logical_date, logical_date)
    run = DagRun(dag_id=serialized["dag_id"], run_id=run_id, logical_date=logical_date,
                 data_interval_start=start, data_interval_end=end, queued_at=now,
                 state="queued", run_type=run_type, external_trigger=run_type == "manual",
                 conf=json.dumps(dict(conf)), note=note)
    sess.add(run)
    for task in serialized["tasks"]:
        sess.add(TaskInstance(
            dag_id=run.dag_id, run_id=run_id, task_id=task["task_id"], map_index=-1,
            state=None, try_number=0, max_tries=task["retries"], pool=task["pool"],
            pool_slots=task["pool_slots"], queue=task["queue"],
            priority_weight=task["priority_weight"], operator=task["class_name"]))
    return run
