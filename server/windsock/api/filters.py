"""Query filters shared by the list operations: datetime and number ranges, value lists, `~`.

Every filter becomes a SQL condition, so paging and counting see the filtered rows only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import ColumnElement, or_

from windsock.api.problems import BadRequest

WILDCARD = "~"


def parse_datetime(name: str, value: str | datetime | None) -> datetime | None:
    """An RFC 3339 datetime with an offset; a naive or malformed one, or one outside the years
    1 to 9999 once in UTC (stored in UTC, it would fail), is a 400 naming `name`.

    Every `date-time` of the contract, in a body or a query, is read through here: connexion
    does not check that format (jsonschema would need rfc3339-validator)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise BadRequest(f"'{name}' is not an RFC 3339 datetime: {value!r}.") from None
    if moment.tzinfo is None:
        raise BadRequest(f"'{name}' has no UTC offset; give one, e.g. 2026-01-01T00:00:00Z.")
    try:
        moment.astimezone(timezone.utc)
    except OverflowError:
        raise BadRequest(f"'{name}' is outside the years 1 to 9999 in UTC: {value!r}.") from None
    return moment


def ranges(columns: Mapping[str, ColumnElement], values: Mapping[str, Any]) -> list:
    """Conditions for `<field>_gte` / `<field>_lte` values (inclusive) on the named columns.

    `columns` maps a field name (execution_date, duration, ...) to its column; datetime fields
    are parsed and checked, number fields are used as given.
    """
    conditions = []
    for field, column in columns.items():
        for suffix, compare in (("_gte", column.__ge__), ("_lte", column.__le__)):
            name = field + suffix
            value = values.get(name)
            if value is None:
                continue
            if isinstance(value, str):
                value = parse_datetime(name, value)
            conditions.append(compare(value))
    return conditions


def any_of(column: ColumnElement, values: Iterable[Any] | None, none_value: str | None = None):
    """`column` is one of `values` (no condition when there are none). `none_value` stands for
    NULL, e.g. the task state `none`."""
    values = list(values or [])
    if not values:
        return None
    wanted = [v for v in values if v != none_value]
    condition = column.in_(wanted)
    if none_value is not None and none_value in values:
        condition = or_(condition, column.is_(None))
    return condition


def equals(column: ColumnElement, value: Any):
    """`column == value`, unless the value is absent or the `~` wildcard."""
    if value is None or value == WILDCARD:
        return None
    return column == value


def where(*conditions) -> list:
    """The conditions that apply (drops the None ones)."""
    return [c for c in conditions if c is not None]
