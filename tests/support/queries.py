"""Counting the SQL statements a piece of code sends, for tests that a request costs a fixed
number of queries whatever the page or table size."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from windsock.db.engine import engine
from windsock.security import authorization


@contextmanager
def statements() -> Iterator[list[str]]:
    """The statements sent to the configured database while the block runs, which starts with
    no caller's permissions remembered (so that every block counts their query)."""
    sent: list[str] = []
    authorization.forget_permissions()

    def record(_conn, _cursor, statement, *_args) -> None:
        sent.append(statement)

    target = engine()
    event.listen(target, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(target, "before_cursor_execute", record)
