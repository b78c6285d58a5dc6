"""Seeding the database directly, for tests that need DAGs, runs and task instances in given
states without parsing files or running a scheduler, or the objects the contract's examples name."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from functools import cache
from typing import Any

import yaml
from sqlalchemy import select

from tests.conftest import ADMIN
from windsock import DAG, Param, ShellTask, task
from windsock.app import SPEC_PATH
from windsock.dags.serialization import dag_hash, dumps, serialize
from windsock.dags.store import file_token, schedule_wire
from windsock.db.engine import session
from windsock.db import models
from windsock.db.models import (Dag, DagCode, DagRun, DagTag, EventLog, Role, SerializedDag,
                                TaskInstance, User, XCom)
from windsock.security.passwords import hash_password

EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)


def sample_dag(dag_id: str = "sample", *, tags=("example",), schedule=None) -> DAG:
    """extract >> transform >> [load, report]; `report` is a shell task; one integer param."""
    with DAG(dag_id, schedule=schedule, start_date=EPOCH, tags=tags, owner="data-team",
             description=f"The {dag_id} pipeline.", params={
                 "batch_size": Param(10, type="integer", minimum=1, description="Rows per batch"),
             }) as dag:
        @task
        def extract():
            return [1, 2, 3]

        @task
        def transform(rows):
            return [r * 2 for r in rows]

        @task(retries=2, pool="default_pool")
        def load(rows):
            return len(rows)

        rows = transform(extract())
        load(rows)
        rows >> ShellTask("report", "echo done")
    dag.fileloc = f"/dags/{dag_id}.py"
    return dag


def add_dag(dag: DAG, *, paused: bool = False, active: bool = True,
            source: str = "# DAG source\n", token: str | None = None) -> Dag:
    """Store `dag` as the DAG file processor would (`token`: a file token of your choice)."""
    data = serialize(dag)
    text = dumps(data)
    token = token or file_token(dag.fileloc)
    with session() as sess:
        row = Dag(dag_id=dag.dag_id, fileloc=dag.fileloc, file_token=token,
                  owners=",".join(data["owners"]), description=dag.description,
                  schedule=schedule_wire(data),
                  timetable_description=data["timetable_description"], is_paused=paused,
                  is_active=active, last_parsed_time=datetime.now(timezone.utc),
                  max_active_runs=dag.max_active_runs, max_active_tasks=dag.max_active_tasks,
                  tags=[DagTag(name=t) for t in dag.tags])
        sess.add(row)
        sess.add(SerializedDag(dag_id=dag.dag_id, data=text, dag_hash=dag_hash(text)))
        if sess.get(DagCode, token) is None:
            sess.add(DagCode(file_token=token, fileloc=dag.fileloc, source_code=source))
    return row


def add_run(dag: DAG, run_id: str, *, state: str = "queued", logical_date: datetime | None = None,
            run_type: str = "manual", states: dict[str, str | None] | None = None,
            start: datetime | None = None, conf: dict | None = None) -> DagRun:
    """A run of `dag` with one task instance per task, in `states` (default: not yet decided)."""
    logical_date = logical_date or EPOCH
    states = states or {}
    with session() as sess:
        run = DagRun(dag_id=dag.dag_id, run_id=run_id, logical_date=logical_date,
                     data_interval_start=logical_date, data_interval_end=logical_date,
                     state=state, run_type=run_type, external_trigger=run_type == "manual",
                     conf=json.dumps(conf or {}), start_date=start,
                     queued_at=logical_date)
        sess.add(run)
        sess.flush()
        for task_id, t in dag.tasks.items():
            ti_state = states.get(task_id)
            started = ti_state not in (None, "scheduled", "queued")
            ended = started and ti_state not in ("running", "restarting", "deferred")
            sess.add(TaskInstance(
                dag_id=dag.dag_id, run_id=run_id, task_id=task_id, map_index=-1,
                state=ti_state, try_number=1 if started else 0, max_tries=t.retries,
                pool=t.pool, pool_slots=t.pool_slots, queue=t.queue,
                priority_weight=t.priority_weight, operator=type(t).__name__,
                start_date=(start or logical_date) if started else None,
                end_date=(start or logical_date) + timedelta(seconds=5) if ended else None,
                duration=5.0 if ended else None))
    return run


def add_xcom(dag_id: str, run_id: str, task_id: str, key: str, value) -> None:
    with session() as sess:
        sess.add(XCom(dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=-1, key=key,
                      value=json.dumps(value)))


# The objects the contract's examples name


@cache
def contract() -> dict[str, Any]:
    """The bundled contract, read once (callers must not change it)."""
    return yaml.safe_load(SPEC_PATH.read_text())


def parameter_examples(document: dict[str, Any]) -> dict[str, Any]:
    """{parameter name: example} of the contract's shared parameters."""
    return {p["name"]: p["example"] for p in document["components"]["parameters"].values()
            if "example" in p}


@cache
def _password_hash(password: str) -> str:
    return hash_password(password)


def add_example_user(document: dict[str, Any]) -> None:
    """The user of the `UserCreate` example (`jdoe`, holding `Op`); its password is the one the
    login and token examples send, so those examples succeed."""
    example = document["components"]["schemas"]["UserCreate"]["example"]
    with session() as sess:
        held = sess.scalars(select(Role).where(
            Role.name.in_([r["name"] for r in example["roles"]]))).all()
        sess.add(User(username=example["username"], email=example["email"],
                      first_name=example["first_name"], last_name=example["last_name"],
                      password_hash=_password_hash(example["password"]), active=True,
                      roles=list(held)))


def seed_contract_examples() -> None:
    """The objects the contract's examples name, so requests made from them reach real ones: DAG
    `nightly_export` (with its file token), its run `scheduled__2024-05-01T00:00:00+00:00`
    whose task `extract` succeeded on try 1 and returned an XCom, event log 4711, import error
    12, and the user `jdoe`."""
    document = contract()
    examples = parameter_examples(document)
    dag = sample_dag(examples["dag_id"])
    add_dag(dag, token=examples["file_token"])
    run = examples["dag_run_id"]
    add_run(dag, run, state="running", logical_date=datetime(2024, 5, 1, tzinfo=timezone.utc),
            run_type="scheduled", states={"extract": "success", "transform": "running"})
    add_xcom(dag.dag_id, run, examples["task_id"], examples["xcom_key"], [1, 2, 3])
    with session() as sess:
        sess.add(EventLog(id=examples["event_log_id"], event="post_dag_run",
                          dag_id=dag.dag_id, owner=ADMIN[0]))
        sess.add(models.ImportError(id=examples["import_error_id"], filename="/dags/broken.py",
                             stack_trace="SyntaxError: invalid syntax"))
    add_example_user(document)
