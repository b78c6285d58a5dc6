"""How many slots of each pool task instances take, by state."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class SlotUsage:
    running: int = 0
    queued: int = 0
    scheduled: int = 0
    deferred: int = 0

    def occupied(self, include_deferred: bool) -> int:
        return self.running + self.queued + (self.deferred if include_deferred else 0)


def slot_usage(sess: Session, pools: Iterable[str]) -> dict[str, SlotUsage]:
    """Slot usage per pool, in one query whatever the number of pools.

    Task instances are not stored yet (they arrive with DAG runs), so every pool is empty.
    """
    return {name: SlotUsage() for name in pools}
