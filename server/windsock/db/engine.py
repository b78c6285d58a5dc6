"""Engine and sessions: one engine per process, one transaction per unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from windsock import config


def database_url() -> str:
    return config.get("database", "sql_alchemy_conn")


def engine() -> Engine:
    """The engine of the configured database, created once per process."""
    return _engine(database_url())


@cache
def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        eng = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(eng, "connect", _sqlite_pragmas)
        return eng
    return create_engine(
        url,
        pool_size=config.get_int("database", "pool_size"),
        pool_pre_ping=True,
        connect_args={"connect_timeout": 5},
    )


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@cache
def _factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(bind=_engine(url), expire_on_commit=False)


@contextmanager
def session() -> Iterator[Session]:
    """A session whose transaction commits when the block ends and rolls back on any error."""
    with _factory(database_url()).begin() as sess:
        yield sess
