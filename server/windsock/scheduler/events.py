"""Event log rows for what the scheduler does (event `scheduler.<what>`, owner `scheduler`)."""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy.orm import Session

from windsock.db.models import EventLog

OWNER = "scheduler"
KEY_FIELDS = ("dag_id", "run_id", "task_id", "map_index", "try_number")
log = logging.getLogger("windsock.scheduler")


def record(sess: Session, what: str, subject: Any, **extra: Any) -> None:
    """Log one event about `subject` (a run or a task instance, or a row with their key
    columns) and keep it in the event log, in the caller's transaction."""
    fields = {name: getattr(subject, name, None) for name in KEY_FIELDS}
    where = "/".join(str(fields[name]) for name in ("dag_id", "run_id", "task_id")
                     if fields[name] is not None)
    log.info("%s: %s%s", what, where, f" {extra}" if extra else "")
    sess.add(EventLog(event=f"scheduler.{what}", owner=OWNER, **fields,
                      execution_date=getattr(subject, "logical_date", None),
                      extra=json.dumps(extra, default=str) if extra else None))
