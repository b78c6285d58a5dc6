"""How many slots of each pool task instances take, by state."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from windsock.db.models import TaskInstance

COUNTED_STATES = ("running", "queued", "scheduled", "deferred")


@dataclass(frozen=True)
class SlotUsage:
    running: int = 0
    queued: int = 0
    scheduled: int = 0
    deferred: int = 0

    def occupied(self, include_deferred: bool) -> int:
        return self.running + self.queued + (self.deferred if include_deferred else 0)


def slot_usage(sess: Session, pools: Iterable[str]) -> dict[str, SlotUsage]:
    """Slot usage per pool, in one query whatever the number of pools."""
    names = list(pools)
    counts: dict[str, dict[str, int]] = {name: {} for name in names}
    if names:
        rows = sess.execute(
            select(TaskInstance.pool, TaskInstance.state, func.sum(TaskInstance.pool_slots))
            .where(TaskInstance.pool.in_(names), TaskInstance.state.in_(COUNTED_STATES))
            .group_by(TaskInstance.pool, TaskInstance.state))
        for pool, state, slots in rows:
            counts[pool][state] = int(slots)
    return {name: SlotUsage(**by_state) for name, by_state in counts.items()}
