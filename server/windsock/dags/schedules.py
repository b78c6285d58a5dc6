"""Schedules: when a DAG runs. A cron expression or preset, a fixed interval, or none (manual).

A scheduled run covers a data interval [start, end) and is created once the interval has ended;
its logical date is the interval's start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from croniter import croniter

PRESETS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}


@dataclass(frozen=True)
class Interval:
    start: datetime
    end: datetime


class Schedule:
    """A schedule that yields consecutive data intervals."""

    def wire(self) -> dict[str, Any]:
        """The form the API shows (Airflow's `schedule_interval`)."""
        raise NotImplementedError

    def description(self) -> str:
        raise NotImplementedError

    def align(self, moment: datetime) -> datetime:
        """The first interval start at or after `moment`."""
        raise NotImplementedError

    def following(self, start: datetime) -> datetime:
        """The interval start that follows the interval starting at `start`."""
        raise NotImplementedError

    def previous(self, start: datetime) -> datetime:
        """The interval start that precedes the one at `start`."""
        raise NotImplementedError

    def next_interval(self, *, last_start: datetime | None, start_date: datetime,
                      end_date: datetime | None, catchup: bool, now: datetime) -> Interval | None:
        """The interval of the next scheduled run, or None when the schedule is exhausted.

        `last_start` is the logical date of the latest scheduled run. Without catchup, missed
        intervals are skipped: the next run covers the latest interval that has fully passed.
        """
        if last_start is None:
            start = self.align(start_date)
        else:
            start = self.following(last_start)
        if not catchup:
            latest = self.previous(self.align(now))
            latest = self.previous(latest) if self.following(latest) > now else latest
            if latest > start:
                start = max(latest, self.align(start_date))
        if end_date is not None and start > end_date:
            return None
        return Interval(start, self.following(start))


class CronSchedule(Schedule):
    def __init__(self, expression: str):
        self.expression = expression
        self.cron = PRESETS.get(expression, expression)
        if not croniter.is_valid(self.cron):
            raise ValueError(f"schedule {expression!r} is neither a cron expression nor one of "
                             f"the presets {', '.join(PRESETS)}")

    def wire(self) -> dict[str, Any]:
        return {"__type": "CronExpression", "value": self.expression}

    def description(self) -> str:
        return f"Cron schedule '{self.cron}' in UTC"

    def align(self, moment: datetime) -> datetime:
        if croniter.match(self.cron, moment) and moment.second == moment.microsecond == 0:
            return moment
        return croniter(self.cron, moment).get_next(datetime)

    def following(self, start: datetime) -> datetime:
        return croniter(self.cron, start).get_next(datetime)

    def previous(self, start: datetime) -> datetime:
        return croniter(self.cron, start).get_prev(datetime)


class DeltaSchedule(Schedule):
    """Runs every `delta`, counted from the DAG's start date."""

    def __init__(self, delta: timedelta, origin: datetime):
        if delta <= timedelta(0):
            raise ValueError("a timedelta schedule must be positive")
        self.delta = delta
        self.origin = origin

    def wire(self) -> dict[str, Any]:
        return {"__type": "TimeDelta", "days": self.delta.days, "seconds": self.delta.seconds,
                "microseconds": self.delta.microseconds}

    def description(self) -> str:
        return f"Every {self.delta}"

    def align(self, moment: datetime) -> datetime:
        steps = -((self.origin - moment) // self.delta)  # ceiling division
        return self.origin + max(steps, 0) * self.delta

    def following(self, start: datetime) -> datetime:
        return start + self.delta

    def previous(self, start: datetime) -> datetime:
        return start - self.delta


def make(schedule: str | timedelta | None, start_date: datetime | None) -> Schedule | None:
    """The Schedule for a DAG's `schedule` argument (None means manual runs only)."""
    if schedule is None:
        return None
    if start_date is None:
        raise ValueError("a scheduled DAG needs a start_date")
    if isinstance(schedule, str):
        return CronSchedule(schedule)
    if isinstance(schedule, timedelta):
        return DeltaSchedule(schedule, start_date)
    raise TypeError("schedule must be a cron expression, a preset such as '@daily', "
                    f"a timedelta or None, not {type(schedule).__name__}")


def from_wire(wire: dict[str, Any] | None, start_date: datetime | None) -> Schedule | None:
    """Rebuild a schedule from its wire form, as the scheduler reads it from the database."""
    if wire is None:
        return None
    if wire["__type"] == "CronExpression":
        return CronSchedule(wire["value"])
    delta = timedelta(days=wire["days"], seconds=wire["seconds"],
                      microseconds=wire["microseconds"])
    return DeltaSchedule(delta, start_date)


def as_utc(moment: datetime) -> datetime:
    """Naive datetimes in DAG files are read as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)
