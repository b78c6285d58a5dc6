"""Keeping the values of requests out of the server's logs.

A database error can quote what was written: SQLAlchemy prints the bound parameters unless the
engine hides them (it does), and PostgreSQL's messages quote values themselves -- the DETAIL of a
check or not-null violation holds the whole failing row (a connection's password, a variable's
value, a password hash), a data exception quotes the offending value. `install` makes every log
record of the process, whichever logger or handler writes it (ours, uvicorn's, Flask's), describe
such an error by its type, SQLSTATE, the constraint, table and column it names and the SQL text
with its placeholders, never by the database's message. Other exceptions are logged as usual.

A request body that breaks the contract is answered 400 and shows in the access log; connexion
would also log the validation message at INFO, and that message quotes the offending value (a
password too short, say), so connexion's validators log warnings and errors only.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

import sqlalchemy.exc

_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


def _name(kind: type) -> str:
    module = "" if kind.__module__ == "builtins" else f"{kind.__module__}."
    return module + kind.__qualname__


def _from_database(exc: BaseException) -> bool:
    """A SQLAlchemy statement error, or an error a PostgreSQL server reported (psycopg)."""
    return isinstance(exc, sqlalchemy.exc.StatementError) or (
        getattr(exc, "sqlstate", None) is not None and getattr(exc, "diag", None) is not None)


def describe(exc: BaseException) -> str:
    """What `exc` says, fit for a log."""
    if isinstance(exc, sqlalchemy.exc.StatementError):
        inner = f"({_name(type(exc.orig))}) {describe(exc.orig)} " if exc.orig is not None else ""
        return f"{inner}[SQL: {exc.statement}]"
    if not _from_database(exc):  # nor an error the PostgreSQL server reported
        return str(exc)
    diag = exc.diag
    names = (("constraint", diag.constraint_name), ("table", diag.table_name),
             ("column", diag.column_name))
    return ", ".join([f"SQLSTATE {exc.sqlstate}",
                      *(f'{label} "{value}"' for label, value in names if value)])


def _traceback(exc: BaseException, seen: set[int]) -> list[str]:
    """The lines Python would print for `exc` and its chain, each exception described safely."""
    seen.add(id(exc))
    lines: list[str] = []
    cause, context = exc.__cause__, exc.__context__
    if cause is not None and id(cause) not in seen:
        lines += [*_traceback(cause, seen), _CAUSE]
    elif context is not None and not exc.__suppress_context__ and id(context) not in seen:
        lines += [*_traceback(context, seen), _CONTEXT]
    if exc.__traceback__ is not None:
        lines += ["Traceback (most recent call last):\n", *traceback.format_tb(exc.__traceback__)]
    lines.append(f"{_name(type(exc))}: {describe(exc)}\n")
    return lines


def _redact(record: logging.LogRecord) -> None:
    exc = record.exc_info[1] if record.exc_info else None
    if exc is not None:
        record.exc_text = "".join(_traceback(exc, set())).rstrip("\n")
    if isinstance(record.args, tuple):
        record.args = tuple(describe(arg) if isinstance(arg, BaseException)
                            and _from_database(arg) else arg for arg in record.args)
    if isinstance(record.msg, BaseException) and _from_database(record.msg):
        record.msg = describe(record.msg)


def install() -> None:
    """Describe exceptions safely in every log record this process makes from now on; calling
    it again changes nothing."""
    logging.getLogger("connexion.validators").setLevel(logging.WARNING)
    previous = logging.getLogRecordFactory()
    if getattr(previous, "redacts", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _redact(record)
        return record

    factory.redacts = True
    logging.setLogRecordFactory(factory)
