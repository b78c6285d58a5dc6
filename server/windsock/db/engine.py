"""Engine and sessions: one engine per process, one transaction per unit of work.

An API request that changes something runs in one write transaction from its first `session()`
to its event log row (`request_transaction`): on SQLite it takes the write lock when it begins
(`BEGIN IMMEDIATE`), on PostgreSQL the rows it reads to change are locked (`locked`), so a
conditional write compares and writes under the same lock. What a request can read before, and
check again cheaply under the lock, it reads in a `snapshot`, which holds no lock: a trigger
reads its DAG's serialized form there (about a third of its time under SQLite's lock), and a
trigger refused for what it read answers at once, however busy the database is. Its waits for
the database -- a pooled connection, SQLite's write lock, a PostgreSQL row lock -- are bounded
by `[database] wait_timeout`.

On SQLite every write transaction -- a request's, a scheduler step's, a task runner's -- takes
its turn first (`windsock.db.turns`): SQLite's busy handler polls the write lock with sleeps
growing to 100 ms, so with many writers some lose round after round and wait seconds while the
lock is mostly free; a turn is handed to the next writer the moment it is free. The database runs
in WAL mode with `synchronous=NORMAL` (commits do not wait for the disk; an application crash
loses nothing, a power loss at most the last commits).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from contextvars import ContextVar
from functools import cache
from typing import Any

from sqlalchemy import Engine, Select, create_engine, event, insert, make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from windsock import config
from windsock.db import turns

# Execution option of the connection of a request transaction: its wait bound in milliseconds.
WRITE_OPTION = "windsock_write_wait_ms"
PROBE_SECONDS = 1.0
SQLITE_TIMEOUT = 30.0  # seconds a connection waits for SQLite's lock; a write turn's default bound


class _RequestTransaction:
    """A request's write transaction, begun when the request first uses `session()`: work it
    does before (checking its input, reading in a `snapshot`) holds no lock."""

    def __init__(self, stack: ExitStack, wait: float):
        self._stack, self._wait = stack, wait
        self._session: Session | None = None

    def session(self) -> Session:
        if self._session is None:
            self._session = self._stack.enter_context(write_session(self._wait))
        return self._session


_request: ContextVar[_RequestTransaction | None] = ContextVar("windsock_request_transaction",
                                                              default=None)


def database_url() -> str:
    return config.get("database", "sql_alchemy_conn")


def engine() -> Engine:
    """The engine of the configured database, created once per process."""
    return _engine(database_url())


@cache
def _engine(url: str) -> Engine:
    # Bound parameters never reach logs or error messages: they hold passwords and secrets.
    if url.startswith("sqlite"):
        eng = create_engine(url, hide_parameters=True,
                            connect_args={"timeout": SQLITE_TIMEOUT, "check_same_thread": False})
        event.listen(eng, "connect", _sqlite_pragmas)
        event.listen(eng, "begin", _begin_sqlite)
        return eng
    eng = create_engine(
        url,
        hide_parameters=True,
        pool_size=config.get_int("database", "pool_size"),
        pool_timeout=config.get_float("database", "wait_timeout"),
        pool_pre_ping=True,
        connect_args={"connect_timeout": 5},
    )
    event.listen(eng, "begin", _begin_postgresql)
    return eng


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _begin_sqlite(conn) -> None:
    """A write transaction takes SQLite's write lock at once, waiting at most its bound; any
    other transaction begins as the driver begins it (lazily, before its first write)."""
    wait_ms = conn.get_execution_options().get(WRITE_OPTION)
    if wait_ms is not None:
        conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(wait_ms)}")
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _begin_postgresql(conn) -> None:
    wait_ms = conn.get_execution_options().get(WRITE_OPTION)
    if wait_ms is not None:
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = {int(wait_ms)}")


@cache
def _factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(bind=_engine(url), expire_on_commit=False)


@cache
def _probe_factory(url: str) -> sessionmaker[Session]:
    """Sessions of a pool of their own, one connection and no wait longer than PROBE_SECONDS,
    so that a health check answers while requests hold every pooled connection or wait on
    locks."""
    if url.startswith("sqlite"):
        eng = create_engine(url, hide_parameters=True, pool_size=1, max_overflow=1,
                            connect_args={"timeout": PROBE_SECONDS, "check_same_thread": False})
    else:
        eng = create_engine(url, hide_parameters=True, pool_size=1, max_overflow=1,
                            pool_timeout=PROBE_SECONDS, pool_pre_ping=True, connect_args={
                                "connect_timeout": 2,  # libpq's shortest
                                "options": f"-c statement_timeout={int(PROBE_SECONDS * 1000)}"})
    return sessionmaker(bind=eng)


@contextmanager
def probe_session() -> Iterator[Session]:
    """A short read-only session for health checks (see `_probe_factory`)."""
    with _probe_factory(database_url())() as sess:
        yield sess


@contextmanager
def session() -> Iterator[Session]:
    """A session whose transaction commits when the block ends and rolls back on any error.

    Inside `request_transaction` it is that transaction's session, which commits when the
    request's transaction does.
    """
    current = _request.get()
    if current is not None:
        yield current.session()
        return
    with _factory(database_url()).begin() as sess:
        yield sess


def _turn(url: str, wait: float):
    """The write turn of the database `url`, or none needed (PostgreSQL locks rows)."""
    if not url.startswith("sqlite"):
        return nullcontext(wait)
    path = make_url(url).database
    return turns.turn(path if path and path != ":memory:" else None, wait)


@contextmanager
def write_session(wait: float = SQLITE_TIMEOUT) -> Iterator[Session]:
    """A write transaction: on SQLite it takes its turn and the write lock when it begins, on
    PostgreSQL its lock waits are bounded; either way it waits at most `wait` seconds in all.
    It commits when the block ends and rolls back on any error."""
    url = database_url()
    with _turn(url, wait) as left:
        with _factory(url).begin() as sess:
            sess.connection(execution_options={WRITE_OPTION: left * 1000})
            yield sess


@contextmanager
def request_transaction() -> Iterator[None]:
    """One write transaction for everything a request does from its first `session()` on,
    bounded by `[database] wait_timeout`; every `session()` joins it. It commits when the block
    ends and rolls back on any error."""
    with ExitStack() as stack:
        token = _request.set(_RequestTransaction(stack, config.get_float("database",
                                                                         "wait_timeout")))
        try:
            yield
        finally:
            _request.reset(token)


@contextmanager
def snapshot() -> Iterator[Session]:
    """A session for what a write request reads before its transaction takes SQLite's write
    lock: on SQLite one of its own, for reading (which never waits for writers); whatever it
    read may change before the request's transaction begins, so the request must check again
    there what it relies on. On PostgreSQL, whose writes lock rows and not the database, it is
    the request's own session (one pooled connection per request)."""
    url = database_url()
    with (_factory(url)() if url.startswith("sqlite") else session()) as sess:
        yield sess


def locked(statement: Select, *of: Any) -> Select:
    """`statement` locking the rows it reads (of the entities `of`, by default all) when it runs
    in a request transaction (PostgreSQL; SQLite's request transaction holds the database's
    write lock already)."""
    if _request.get() is None:
        return statement
    return statement.with_for_update(of=list(of) or None)


def insert_unless_taken(sess: Session, table: Any):
    """An INSERT into `table` that writes nothing for a row whose unique key another row holds
    (a foreign key the row breaks is still an error): SQLite's `INSERT OR IGNORE` (which, unlike
    `ON CONFLICT DO NOTHING`, SQLAlchemy compiles once and caches; it also skips a row breaking
    NOT NULL, so give it complete rows), PostgreSQL's `ON CONFLICT DO NOTHING`."""
    if sess.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return insert(table).prefix_with("OR IGNORE")


def dialect_insert(sess: Session, entity: Any):
    """An INSERT into `entity` in the session's database's dialect, which can say what to do on
    a conflict (`on_conflict_do_update`; for nothing, `insert_unless_taken`)."""
    return (postgresql.insert if sess.get_bind().dialect.name == "postgresql"
            else sqlite.insert)(entity)
