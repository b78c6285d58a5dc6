"""ORM models of the metadata database. They hold data only; no HTTP concerns."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (Boolean, Column, DateTime, Float, ForeignKey, ForeignKeyConstraint, Index,
                        Integer, String, Table, Text, TypeDecorator, UniqueConstraint, text)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

DEFAULT_POOL = "default_pool"
DEFAULT_POOL_SLOTS = 128


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UtcDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetimes are not stored; give an offset")
            value = value.astimezone(timezone.utc)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    pass


user_role = Table(
    "user_role", Base.metadata,
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", ForeignKey("role.id", ondelete="CASCADE"), primary_key=True, index=True),
)

role_permission = Table(
    "role_permission", Base.metadata,
    Column("role_id", ForeignKey("role.id", ondelete="CASCADE"), primary_key=True),
    Column("permission_id", ForeignKey("permission.id", ondelete="CASCADE"), primary_key=True,
           index=True),
)


class User(Base):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(256), unique=True)
    password_hash: Mapped[str] = mapped_column(String(512))
    first_name: Mapped[str] = mapped_column(String(256), default="")
    last_name: Mapped[str] = mapped_column(String(256), default="")
    email: Mapped[str] = mapped_column(String(320), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    changed_on: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_login: Mapped[datetime | None] = mapped_column(UtcDateTime)
    login_count: Mapped[int] = mapped_column(Integer, default=0)
    failed_login_count: Mapped[int] = mapped_column(Integer, default=0)
    roles: Mapped[list[Role]] = relationship(secondary=user_role, order_by="Role.name")


class Role(Base):
    __tablename__ = "role"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    permissions: Mapped[list[Permission]] = relationship(secondary=role_permission)


class Action(Base):
    """A verb of the permission model: can_read, can_edit, can_create, can_delete, can_access."""

    __tablename__ = "action"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)


class Resource(Base):
    """What an action applies to: `DAGs`, `Pools`, ..., or one DAG as `DAG:<dag_id>`."""

    __tablename__ = "resource"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)


class Permission(Base):
    """One action on one resource; roles hold permissions."""

    __tablename__ = "permission"
    __table_args__ = (UniqueConstraint("action_id", "resource_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("action.id", ondelete="CASCADE"))
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id", ondelete="CASCADE"),
                                             index=True)
    action: Mapped[Action] = relationship(lazy="joined")
    resource: Mapped[Resource] = relationship(lazy="joined")


class ApiToken(Base):
    """A long-lived personal API token; only a SHA-256 digest of its secret is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class AuthFailure(Base):
    """Failed password checks of one username from one client address in the current window
    (see security.throttle), shared by every API process; keyed by a digest of the pair."""

    __tablename__ = "auth_failure"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class UserSession(Base):
    """A cookie session; the cookie holds a secret whose SHA-256 digest is the key here."""

    __tablename__ = "user_session"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class Variable(Base):
    __tablename__ = "variable"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(250), unique=True)
    val: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)


class Connection(Base):
    __tablename__ = "connection"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conn_id: Mapped[str] = mapped_column(String(250), unique=True)
    conn_type: Mapped[str] = mapped_column(String(100), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(String(500), index=True)
    schema: Mapped[str | None] = mapped_column(String(500))
    login: Mapped[str | None] = mapped_column(String(500))
    password: Mapped[str | None] = mapped_column(Text)
    port: Mapped[int | None] = mapped_column(Integer, index=True)
    extra: Mapped[str | None] = mapped_column(Text)


class Pool(Base):
    __tablename__ = "slot_pool"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pool: Mapped[str] = mapped_column(String(250), unique=True)
    slots: Mapped[int] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(Text)
    include_deferred: Mapped[bool] = mapped_column(Boolean, default=False)


ID_LENGTH = 250


class Dag(Base):
    """One DAG as last parsed from its file; the API reads DAGs only from here."""

    __tablename__ = "dag"

    dag_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    is_paused: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    last_parsed_time: Mapped[datetime | None] = mapped_column(UtcDateTime)
    fileloc: Mapped[str] = mapped_column(String(2000))
    file_token: Mapped[str] = mapped_column(String(64), index=True)
    owners: Mapped[str] = mapped_column(String(2000), default="")
    description: Mapped[str | None] = mapped_column(Text)
    schedule: Mapped[str | None] = mapped_column(Text)  # the wire form, as JSON
    timetable_description: Mapped[str | None] = mapped_column(String(1000))
    max_active_tasks: Mapped[int] = mapped_column(Integer, default=16)
    max_active_runs: Mapped[int] = mapped_column(Integer, default=16)
    has_task_concurrency_limits: Mapped[bool] = mapped_column(Boolean, default=False)
    has_import_errors: Mapped[bool] = mapped_column(Boolean, default=False)
    next_dagrun: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    next_dagrun_data_interval_start: Mapped[datetime | None] = mapped_column(UtcDateTime)
    next_dagrun_data_interval_end: Mapped[datetime | None] = mapped_column(UtcDateTime)
    next_dagrun_create_after: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)

    tags: Mapped[list[DagTag]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="DagTag.name")


class DagTag(Base):
    __tablename__ = "dag_tag"

    dag_id: Mapped[str] = mapped_column(
        ForeignKey("dag.dag_id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)


class SerializedDag(Base):
    """A DAG's structure (tasks, dependencies, params, docs) as JSON, written by the processor."""

    __tablename__ = "serialized_dag"

    dag_id: Mapped[str] = mapped_column(
        ForeignKey("dag.dag_id", ondelete="CASCADE"), primary_key=True)
    data: Mapped[str] = mapped_column(Text)
    dag_hash: Mapped[str] = mapped_column(String(64))
    last_updated: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class DagCode(Base):
    """The source of a DAG file, addressed by its file token."""

    __tablename__ = "dag_code"

    file_token: Mapped[str] = mapped_column(String(64), primary_key=True)
    fileloc: Mapped[str] = mapped_column(String(2000))
    source_code: Mapped[str] = mapped_column(Text)
    last_updated: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class DagWarning(Base):
    __tablename__ = "dag_warning"

    dag_id: Mapped[str] = mapped_column(
        ForeignKey("dag.dag_id", ondelete="CASCADE"), primary_key=True)
    warning_type: Mapped[str] = mapped_column(String(50), primary_key=True)
    message: Mapped[str] = mapped_column(Text)
    timestamp: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)


class ImportError(Base):  # noqa: A001 - the resource's name on the wire
    """A DAG file that failed to load, with its traceback; removed when the file loads again."""

    __tablename__ = "import_error"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    timestamp: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    filename: Mapped[str] = mapped_column(String(2000), index=True)
    stack_trace: Mapped[str] = mapped_column(Text)


class DagParsingRequest(Base):
    """A request (from the API) that the DAG processor parse a file on its next check."""

    __tablename__ = "dag_parsing_request"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fileloc: Mapped[str] = mapped_column(String(2000))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class DagRun(Base):
    __tablename__ = "dag_run"
    __table_args__ = (
        UniqueConstraint("dag_id", "run_id", name="dag_run_dag_id_run_id_key"),
        UniqueConstraint("dag_id", "logical_date", name="dag_run_dag_id_logical_date_key"),
        Index("idx_dag_run_dag_id_state", "dag_id", "state"),
        Index("idx_dag_run_run_id", "run_id"),  # runs named under the `~` DAG wildcard
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dag_id: Mapped[str] = mapped_column(ForeignKey("dag.dag_id", ondelete="CASCADE"))
    run_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    logical_date: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    data_interval_start: Mapped[datetime | None] = mapped_column(UtcDateTime)
    data_interval_end: Mapped[datetime | None] = mapped_column(UtcDateTime)
    queued_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    start_date: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    end_date: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    state: Mapped[str] = mapped_column(String(50), index=True)
    run_type: Mapped[str] = mapped_column(String(50))
    external_trigger: Mapped[bool] = mapped_column(Boolean, default=True)
    conf: Mapped[str] = mapped_column(Text, default="{}")  # JSON object
    note: Mapped[str | None] = mapped_column(Text)
    last_scheduling_decision: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utcnow, onupdate=utcnow, index=True)
    # The backfill that created or reran the run. No foreign key: SQLite can add one only by
    # rebuilding dag_run, whose rebuild would cascade to every task instance; backfills are
    # never deleted on their own (only with their DAG, which takes its runs with it).
    backfill_id: Mapped[int | None] = mapped_column(Integer, index=True)

    consumed_dataset_events: Mapped[list[DatasetEvent]] = relationship(
        secondary="dagrun_dataset_event", lazy="raise", order_by="DatasetEvent.id",
        back_populates="created_dagruns")


class Backfill(Base):
    """Runs of a DAG for the logical dates of a past range, created by the scheduler a few at a
    time. `next_logical_date` is where the scheduler goes on (in the backfill's direction);
    None once every date of the range has been handed out. A DAG has at most one backfill
    that is not completed (the partial unique index)."""

    __tablename__ = "backfill"
    __table_args__ = (
        Index("uq_backfill_active_dag_id", "dag_id", unique=True,
              sqlite_where=text("completed_at IS NULL"),
              postgresql_where=text("completed_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dag_id: Mapped[str] = mapped_column(ForeignKey("dag.dag_id", ondelete="CASCADE"), index=True)
    from_date: Mapped[datetime] = mapped_column(UtcDateTime)
    to_date: Mapped[datetime] = mapped_column(UtcDateTime)
    run_backwards: Mapped[bool] = mapped_column(Boolean, default=False)
    dag_run_conf: Mapped[str] = mapped_column(Text, default="{}")  # JSON object
    reprocess_behavior: Mapped[str] = mapped_column(String(20))
    max_active_runs: Mapped[int] = mapped_column(Integer)
    is_paused: Mapped[bool] = mapped_column(Boolean, default=False)
    next_logical_date: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


TI_KEY = ("dag_id", "run_id", "task_id", "map_index")


class TaskInstance(Base):
    """One task of one DAG run. `state` is NULL until the scheduler decides about it."""

    __tablename__ = "task_instance"
    __table_args__ = (
        ForeignKeyConstraint(["dag_id", "run_id"], ["dag_run.dag_id", "dag_run.run_id"],
                             ondelete="CASCADE"),
        Index("idx_task_instance_dag_id_state", "dag_id", "state"),
        Index("idx_task_instance_run_id", "run_id"),
    )

    dag_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    task_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    map_index: Mapped[int] = mapped_column(Integer, primary_key=True, default=-1)
    state: Mapped[str | None] = mapped_column(String(20), index=True)
    try_number: Mapped[int] = mapped_column(Integer, default=0)
    max_tries: Mapped[int] = mapped_column(Integer, default=0)
    start_date: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    end_date: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    duration: Mapped[float | None] = mapped_column(Float, index=True)
    hostname: Mapped[str] = mapped_column(String(1000), default="")
    unixname: Mapped[str] = mapped_column(String(1000), default="")
    pid: Mapped[int | None] = mapped_column(Integer)
    # the process group of the try's task processes on `hostname`, once they started
    pgid: Mapped[int | None] = mapped_column(Integer)
    pool: Mapped[str] = mapped_column(String(256), index=True)
    pool_slots: Mapped[int] = mapped_column(Integer, default=1)
    queue: Mapped[str | None] = mapped_column(String(256), index=True)
    priority_weight: Mapped[int] = mapped_column(Integer, default=1)
    # most instances of the task queued or running at once over the DAG's runs (None: no limit)
    max_active_tis_per_dag: Mapped[int | None] = mapped_column(Integer)
    operator: Mapped[str | None] = mapped_column(String(1000))
    executor: Mapped[str | None] = mapped_column(String(1000), index=True)
    queued_dttm: Mapped[datetime | None] = mapped_column(UtcDateTime)
    queued_by_job_id: Mapped[int | None] = mapped_column(Integer)
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utcnow, onupdate=utcnow, index=True)


class TaskInstanceTry(Base):
    """A finished earlier try of a task instance, kept when the instance is cleared or retried."""

    __tablename__ = "task_instance_history"
    __table_args__ = (
        ForeignKeyConstraint(list(TI_KEY), [f"task_instance.{c}" for c in TI_KEY],
                             ondelete="CASCADE"),
    )

    dag_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    task_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    map_index: Mapped[int] = mapped_column(Integer, primary_key=True, default=-1)
    try_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str | None] = mapped_column(String(20))
    max_tries: Mapped[int] = mapped_column(Integer, default=0)
    start_date: Mapped[datetime | None] = mapped_column(UtcDateTime)
    end_date: Mapped[datetime | None] = mapped_column(UtcDateTime)
    duration: Mapped[float | None] = mapped_column(Float)
    hostname: Mapped[str] = mapped_column(String(1000), default="")
    unixname: Mapped[str] = mapped_column(String(1000), default="")
    pid: Mapped[int | None] = mapped_column(Integer)
    pool: Mapped[str] = mapped_column(String(256))
    pool_slots: Mapped[int] = mapped_column(Integer, default=1)
    queue: Mapped[str | None] = mapped_column(String(256))
    priority_weight: Mapped[int] = mapped_column(Integer, default=1)
    operator: Mapped[str | None] = mapped_column(String(1000))
    executor: Mapped[str | None] = mapped_column(String(1000))
    queued_dttm: Mapped[datetime | None] = mapped_column(UtcDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class XCom(Base):
    """A JSON value a task instance published under a key (`return_value` for a return value)."""

    __tablename__ = "xcom"
    __table_args__ = (
        ForeignKeyConstraint(list(TI_KEY), [f"task_instance.{c}" for c in TI_KEY],
                             ondelete="CASCADE"),
    )

    dag_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    task_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    map_index: Mapped[int] = mapped_column(Integer, primary_key=True, default=-1)
    key: Mapped[str] = mapped_column(String(512), primary_key=True)
    value: Mapped[str] = mapped_column(Text)  # JSON
    timestamp: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)


class EventLog(Base):
    """The audit trail: who changed what, when."""

    __tablename__ = "log"
    __table_args__ = (Index("idx_log_dag_task_run", "dag_id", "task_id", "run_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dttm: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    dag_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    task_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    run_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), index=True)
    map_index: Mapped[int | None] = mapped_column(Integer)
    try_number: Mapped[int | None] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(60), index=True)
    execution_date: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    owner: Mapped[str | None] = mapped_column(String(500), index=True)
    extra: Mapped[str | None] = mapped_column(Text)


class Job(Base):
    """A long-running process (a scheduler) and its heartbeat."""

    __tablename__ = "job"
    __table_args__ = (Index("idx_job_type_heartbeat", "job_type", "latest_heartbeat"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_type: Mapped[str] = mapped_column(String(30))
    state: Mapped[str] = mapped_column(String(20))
    hostname: Mapped[str] = mapped_column(String(500))
    pid: Mapped[int] = mapped_column(Integer)
    start_date: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    end_date: Mapped[datetime | None] = mapped_column(UtcDateTime)
    latest_heartbeat: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


DATASET_URI_LENGTH = 1500  # Airflow allows 3000; an index entry on PostgreSQL holds ~2700 bytes


class Dataset(Base):
    """A dataset some DAG names (in a task's outlets or its schedule), by URI."""

    __tablename__ = "dataset"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uri: Mapped[str] = mapped_column(String(DATASET_URI_LENGTH), unique=True)
    extra: Mapped[str] = mapped_column(Text, default="{}")  # JSON object
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)

    consuming_dags: Mapped[list[DagScheduleDataset]] = relationship(lazy="raise", viewonly=True)
    producing_tasks: Mapped[list[TaskOutletDataset]] = relationship(lazy="raise", viewonly=True)


class DagScheduleDataset(Base):
    """A DAG scheduled on a dataset (it is named in the DAG's dataset condition)."""

    __tablename__ = "dag_schedule_dataset_reference"

    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("dataset.id", ondelete="CASCADE"), primary_key=True)
    dag_id: Mapped[str] = mapped_column(
        ForeignKey("dag.dag_id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class TaskOutletDataset(Base):
    """A task that updates a dataset when it succeeds."""

    __tablename__ = "task_outlet_dataset_reference"

    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("dataset.id", ondelete="CASCADE"), primary_key=True)
    dag_id: Mapped[str] = mapped_column(
        ForeignKey("dag.dag_id", ondelete="CASCADE"), primary_key=True, index=True)
    task_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


dagrun_dataset_event = Table(
    "dagrun_dataset_event", Base.metadata,
    Column("dag_run_id", ForeignKey("dag_run.id", ondelete="CASCADE"), primary_key=True),
    Column("event_id", ForeignKey("dataset_event.id", ondelete="CASCADE"), primary_key=True,
           index=True),
)


class DatasetEvent(Base):
    """One update of a dataset: by a task's success (its source task instance) or reported
    through the API (no source)."""

    __tablename__ = "dataset_event"
    __table_args__ = (Index("idx_dataset_event_dataset_id_timestamp", "dataset_id", "timestamp"),
                      Index("idx_dataset_event_source", "source_dag_id", "source_run_id",
                            "source_task_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset.id", ondelete="CASCADE"))
    extra: Mapped[str] = mapped_column(Text, default="{}")  # JSON object
    source_dag_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    source_task_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    source_run_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    source_map_index: Mapped[int | None] = mapped_column(Integer, default=-1)
    timestamp: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)

    dataset: Mapped[Dataset] = relationship(lazy="raise")
    created_dagruns: Mapped[list[DagRun]] = relationship(
        secondary=dagrun_dataset_event, lazy="raise", order_by="DagRun.id",
        back_populates="consumed_dataset_events")


class DatasetDagRunQueue(Base):
    """A dataset updated since a DAG scheduled on it last ran: what the scheduler checks the
    DAG's condition against. Cleared when the DAG's dataset-triggered run is created."""

    __tablename__ = "dataset_dag_run_queue"

    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("dataset.id", ondelete="CASCADE"), primary_key=True)
    target_dag_id: Mapped[str] = mapped_column(
        ForeignKey("dag.dag_id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)


class IdempotencyKey(Base):
    """The answer a create operation gave to one caller's `Idempotency-Key`, kept until it
    expires so that a retried request gets it again; written in the transaction that created the
    object, so the key is taken exactly when the object exists."""

    __tablename__ = "idempotency_key"

    owner: Mapped[str] = mapped_column(String(256), primary_key=True)  # the caller's username
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))  # of the method, path and body
    status: Mapped[int | None] = mapped_column(Integer)  # None until the answer is known
    body: Mapped[str | None] = mapped_column(Text)  # JSON
    headers: Mapped[str | None] = mapped_column(Text)  # JSON object
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
