"""Every list operation costs a small, fixed number of SQL statements, whatever the page size and
however many rows match (DESIGN.md section 7): no per-row lazy loads, no per-row lookups.

Each list operation of the contract (a GET whose 200 answer has `total_entries`, and the POST
`.../list` forms) has a case here that bulk-inserts 100 and then 1,000 matching rows; the
statements one request sends are counted for both sizes and for two page sizes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import insert, select, true, update

from tests.api.helpers import API, operations, resolved, spec
from tests.conftest import ADMIN
from tests.support.queries import statements
from tests.support.seed import EPOCH, sample_dag
from windsock.dags.serialization import dumps, serialize
from windsock.db.engine import session
from windsock.db.models import (Action, ApiToken, Backfill, Connection, Dag, DagRun,
                                DagScheduleDataset, DagTag, DagWarning, Dataset,
                                DatasetDagRunQueue, DatasetEvent, EventLog, ImportError,
                                Permission, Pool, Resource, Role,
                                SerializedDag, TaskInstance, TaskInstanceTry, User, Variable,
                                XCom, dagrun_dataset_event, role_permission, user_role)

MAX_STATEMENTS = 6
SIZES = (100, 1000)
LIMITS = (10, 100)
DAG_ID, RUN_ID, TASK_ID = "bulk", "bulk_run", "bulk_task"


def bulk(model, rows: list[dict[str, Any]]) -> None:
    with session() as sess:
        sess.execute(insert(model), rows)


def dag_rows(start: int, stop: int) -> None:
    """DAGs d0000, d0001, ... each with two tags."""
    ids = [f"d{i:04d}" for i in range(start, stop)]
    bulk(Dag, [{"dag_id": d, "fileloc": f"/dags/{d}.py", "file_token": d, "is_paused": False}
               for d in ids])
    bulk(DagTag, [{"dag_id": d, "name": tag} for d in ids for tag in ("a", "b")])


def one_dag(with_run: bool = False, with_ti: bool = False) -> None:
    data = serialize(sample_dag(DAG_ID))
    bulk(Dag, [{"dag_id": DAG_ID, "fileloc": data["fileloc"], "file_token": DAG_ID}])
    bulk(SerializedDag, [{"dag_id": DAG_ID, "data": dumps(data), "dag_hash": "x"}])
    if with_run:
        run_rows(DAG_ID, [RUN_ID], 0)
    if with_ti:
        bulk(TaskInstance, [ti_row(TASK_ID)])


def run_rows(dag_id: str, run_ids: list[str], first: int) -> None:
    bulk(DagRun, [{"dag_id": dag_id, "run_id": run_id, "state": "success", "run_type": "manual",
                   "logical_date": EPOCH + timedelta(minutes=first + n)}
                  for n, run_id in enumerate(run_ids)])


def ti_row(task_id: str, **fields) -> dict[str, Any]:
    return {"dag_id": DAG_ID, "run_id": RUN_ID, "task_id": task_id, "map_index": -1,
            "state": "success", "pool": "default_pool", "try_number": 1, **fields}


# Seeders: seed(start, stop) makes rows start..stop-1 exist (start 0 also adds their parents).


def seed_variables(start: int, stop: int) -> None:
    bulk(Variable, [{"key": f"v{i:04d}", "val": "x"} for i in range(start, stop)])


def seed_connections(start: int, stop: int) -> None:
    bulk(Connection, [{"conn_id": f"c{i:04d}", "conn_type": "http"} for i in range(start, stop)])


def seed_pools(start: int, stop: int) -> None:
    bulk(Pool, [{"pool": f"p{i:04d}", "slots": 4, "include_deferred": False}
                for i in range(start, stop)])


def seed_tasks(start: int, stop: int) -> None:
    if start == 0:
        one_dag()
    data = serialize(sample_dag(DAG_ID))
    task = {**data["tasks"][0], "upstream_task_ids": [], "downstream_task_ids": []}
    data["tasks"] = [{**task, "task_id": f"t{i:04d}"} for i in range(stop)]
    with session() as sess:
        sess.execute(update(SerializedDag).values(data=dumps(data)))


def seed_dag_runs(start: int, stop: int) -> None:
    if start == 0:
        one_dag()
    run_rows(DAG_ID, [f"r{i:04d}" for i in range(start, stop)], start)


def seed_dag_stats(start: int, stop: int) -> None:
    dag_rows(start, stop)
    bulk(DagRun, [{"dag_id": f"d{i:04d}", "run_id": "r", "state": "success",
                   "run_type": "manual", "logical_date": EPOCH} for i in range(start, stop)])


def seed_dag_warnings(start: int, stop: int) -> None:
    dag_rows(start, stop)
    bulk(DagWarning, [{"dag_id": f"d{i:04d}", "warning_type": "non-existent pool",
                       "message": "pool 'x' does not exist"} for i in range(start, stop)])


def seed_task_instances(start: int, stop: int) -> None:
    if start == 0:
        one_dag(with_run=True)
    bulk(TaskInstance, [ti_row(f"t{i:04d}", duration=float(i)) for i in range(start, stop)])


def seed_mapped_task_instances(start: int, stop: int) -> None:
    """Mapped instances of one task, map indexes start..stop-1."""
    if start == 0:
        one_dag(with_run=True)
    bulk(TaskInstance, [ti_row(TASK_ID, map_index=i, duration=float(i))
                        for i in range(start, stop)])


def seed_tries(start: int, stop: int, map_index: int = -1) -> None:
    """Tries of one task instance (the mapped one `map_index`, if given)."""
    if start == 0:
        one_dag(with_run=True)
        bulk(TaskInstance, [ti_row(TASK_ID, map_index=map_index)])
    bulk(TaskInstanceTry, [{**ti_row(TASK_ID, map_index=map_index), "try_number": n,
                            "state": "failed"} for n in range(start + 1, stop + 1)])
    with session() as sess:
        sess.execute(update(TaskInstance).values(try_number=stop + 1, state="running"))


def seed_xcoms(start: int, stop: int) -> None:
    if start == 0:
        one_dag(with_run=True, with_ti=True)
    bulk(XCom, [{"dag_id": DAG_ID, "run_id": RUN_ID, "task_id": TASK_ID, "map_index": -1,
                 "key": f"k{i:04d}", "value": json.dumps(i)} for i in range(start, stop)])


def seed_event_logs(start: int, stop: int) -> None:
    bulk(EventLog, [{"event": "trigger", "dag_id": DAG_ID, "owner": "admin",
                     "extra": "{}"} for _ in range(start, stop)])


def seed_import_errors(start: int, stop: int) -> None:
    bulk(ImportError, [{"filename": f"/dags/broken_{i:04d}.py", "stack_trace": "Traceback"}
                       for i in range(start, stop)])


def seed_users(start: int, stop: int) -> None:
    """Users u0000, u0001, ... each holding two roles."""
    names = [f"u{i:04d}" for i in range(start, stop)]
    bulk(User, [{"username": n, "email": f"{n}@example.org", "password_hash": "x"}
                for n in names])
    with session() as sess:
        sess.execute(insert(user_role).from_select(
            ["user_id", "role_id"], select(User.id, Role.id).join(Role, true())
            .where(User.username.in_(names), Role.name.in_(("Op", "Viewer")))))


def seed_roles(start: int, stop: int) -> None:
    """Roles r0000, r0001, ... each holding the permissions on pools."""
    names = [f"r{i:04d}" for i in range(start, stop)]
    bulk(Role, [{"name": n} for n in names])
    with session() as sess:
        sess.execute(insert(role_permission).from_select(
            ["role_id", "permission_id"],
            select(Role.id, Permission.id).join(Permission, true())
            .join(Resource, Resource.id == Permission.resource_id)
            .where(Role.name.in_(names), Resource.name == "Pools")))


def seed_permissions(start: int, stop: int) -> None:
    """can_read on each of the DAGs d0000, d0001, ..."""
    names = [f"DAG:d{i:04d}" for i in range(start, stop)]
    bulk(Resource, [{"name": n} for n in names])
    with session() as sess:
        sess.execute(insert(Permission).from_select(
            ["action_id", "resource_id"], select(Action.id, Resource.id).join(Resource, true())
            .where(Action.name == "can_read", Resource.name.in_(names))))


def seed_api_tokens(start: int, stop: int) -> None:
    """Personal API tokens t0000, t0001, ... of the admin, who lists them."""
    with session() as sess:
        admin_id = sess.scalar(select(User.id).where(User.username == ADMIN[0]))
    bulk(ApiToken, [{"user_id": admin_id, "name": f"t{i:04d}", "token_digest": f"{i:064d}",
                     "created_at": EPOCH + timedelta(minutes=i)} for i in range(start, stop)])


def dataset_rows(start: int, stop: int) -> list[int]:
    """Datasets s3://d/0000, s3://d/0001, ...: their ids."""
    uris = [f"s3://d/{i:04d}" for i in range(start, stop)]
    bulk(Dataset, [{"uri": uri} for uri in uris])
    with session() as sess:
        return list(sess.scalars(select(Dataset.id).where(Dataset.uri.in_(uris))))


def seed_datasets(start: int, stop: int) -> None:
    """Datasets, each consumed by the DAG."""
    if start == 0:
        one_dag()
    bulk(DagScheduleDataset, [{"dataset_id": i, "dag_id": DAG_ID}
                              for i in dataset_rows(start, stop)])


def seed_dataset_events(start: int, stop: int) -> None:
    """Updates of one dataset, each consumed by the run."""
    if start == 0:
        one_dag(with_run=True)
        dataset_rows(0, 1)
    with session() as sess:
        dataset_id = sess.scalar(select(Dataset.id))
        run_id = sess.scalar(select(DagRun.id))
        ids = sess.scalars(insert(DatasetEvent).returning(DatasetEvent.id), [
            {"dataset_id": dataset_id, "source_dag_id": DAG_ID, "source_task_id": TASK_ID,
             "source_run_id": RUN_ID, "timestamp": EPOCH + timedelta(seconds=i)}
            for i in range(start, stop)]).all()
        sess.execute(insert(dagrun_dataset_event), [{"dag_run_id": run_id, "event_id": i}
                                                    for i in ids])


def seed_dataset_queue(start: int, stop: int) -> None:
    """Updates of datasets queued for the DAG."""
    if start == 0:
        one_dag()
    bulk(DatasetDagRunQueue, [{"dataset_id": i, "target_dag_id": DAG_ID}
                              for i in dataset_rows(start, stop)])


def seed_dataset_queue_of_dags(start: int, stop: int) -> None:
    """Updates of one dataset queued for DAGs d0000, d0001, ..."""
    dag_rows(start, stop)
    if start == 0:
        dataset_rows(0, 1)
    with session() as sess:
        dataset_id = sess.scalar(select(Dataset.id))
    bulk(DatasetDagRunQueue, [{"dataset_id": dataset_id, "target_dag_id": f"d{i:04d}"}
                              for i in range(start, stop)])


def seed_backfills(start: int, stop: int) -> None:
    """Completed backfills of the DAG (a DAG has at most one that is not completed)."""
    if start == 0:
        one_dag()
    bulk(Backfill, [{"dag_id": DAG_ID, "from_date": EPOCH, "to_date": EPOCH,
                     "run_backwards": False, "dag_run_conf": "{}", "reprocess_behavior": "none",
                     "max_active_runs": 10, "is_paused": False, "created_at": EPOCH,
                     "completed_at": EPOCH, "updated_at": EPOCH} for _ in range(start, stop)])


@dataclass(frozen=True)
class Case:
    seed: Callable[[int, int], None]
    method: str
    url: str
    key: str  # the collection's field in the answer
    paged: bool = True  # takes a page size (`limit`, or `page_limit` in a form)
    query: Callable[[int], dict[str, Any]] = lambda rows: {}  # extra query parameters
    most: int = MAX_STATEMENTS  # statements allowed

    def request(self, client, limit: int, rows: int):
        if self.method == "POST":
            return client.post(self.url, json={"page_limit": limit})
        params = {**self.query(rows), **({"limit": limit} if self.paged else {})}
        return client.get(self.url, params=params)


TI_PATH = f"{API}/dags/{DAG_ID}/dagRuns/{RUN_ID}/taskInstances"
CASES = {
    "get_variables": Case(seed_variables, "GET", f"{API}/variables", "variables"),
    "get_connections": Case(seed_connections, "GET", f"{API}/connections", "connections"),
    "get_pools": Case(seed_pools, "GET", f"{API}/pools", "pools"),
    "get_dags": Case(dag_rows, "GET", f"{API}/dags", "dags"),
    "get_tasks": Case(seed_tasks, "GET", f"{API}/dags/{DAG_ID}/tasks", "tasks", paged=False),
    "get_dag_stats": Case(seed_dag_stats, "GET", f"{API}/dagStats", "dags", paged=False,
                          query=lambda rows: {"dag_ids": ",".join(f"d{i:04d}"
                                                                  for i in range(rows))}),
    "get_dag_warnings": Case(seed_dag_warnings, "GET", f"{API}/dagWarnings", "dag_warnings"),
    "get_dag_runs": Case(seed_dag_runs, "GET", f"{API}/dags/{DAG_ID}/dagRuns", "dag_runs"),
    "list_backfills": Case(seed_backfills, "GET", f"{API}/backfills", "backfills"),
    "get_dag_runs_batch": Case(seed_dag_runs, "POST", f"{API}/dags/~/dagRuns/list",
                               "dag_runs"),
    "get_task_instances": Case(seed_task_instances, "GET", TI_PATH, "task_instances",
                               query=lambda rows: {"order_by": "-duration"}),
    "get_task_instances_batch": Case(seed_task_instances, "POST",
                                     f"{API}/dags/~/dagRuns/~/taskInstances/list",
                                     "task_instances"),
    "get_task_instance_tries": Case(seed_tries, "GET", f"{TI_PATH}/{TASK_ID}/tries",
                                    "task_instances"),
    "get_mapped_task_instances": Case(seed_mapped_task_instances, "GET",
                                      f"{TI_PATH}/{TASK_ID}/listMapped", "task_instances",
                                      query=lambda rows: {"order_by": "-duration"}),
    "get_mapped_task_instance_tries": Case(partial(seed_tries, map_index=0), "GET",
                                           f"{TI_PATH}/{TASK_ID}/0/tries", "task_instances"),
    "get_xcom_entries": Case(seed_xcoms, "GET", f"{TI_PATH}/{TASK_ID}/xcomEntries",
                             "xcom_entries"),
    "get_event_logs": Case(seed_event_logs, "GET", f"{API}/eventLogs", "event_logs"),
    "get_import_errors": Case(seed_import_errors, "GET", f"{API}/importErrors",
                              "import_errors"),
    "get_users": Case(seed_users, "GET", f"{API}/users", "users"),
    "get_roles": Case(seed_roles, "GET", f"{API}/roles", "roles"),
    "get_permissions": Case(seed_permissions, "GET", f"{API}/permissions", "actions"),
    "get_api_tokens": Case(seed_api_tokens, "GET", f"{API}/auth/tokens", "api_tokens"),
    # one more than the others: a dataset's consuming DAGs and its producing tasks are two
    # relations, each loaded for the whole page in one statement
    "get_datasets": Case(seed_datasets, "GET", f"{API}/datasets", "datasets",
                         most=MAX_STATEMENTS + 1),
    "get_dataset_events": Case(seed_dataset_events, "GET", f"{API}/datasets/events",
                               "dataset_events"),
    "get_upstream_dataset_events": Case(
        seed_dataset_events, "GET", f"{API}/dags/{DAG_ID}/dagRuns/{RUN_ID}/upstreamDatasetEvents",
        "dataset_events", paged=False),
    "get_dag_dataset_queued_events": Case(
        seed_dataset_queue, "GET", f"{API}/dags/{DAG_ID}/datasets/queuedEvent", "datasets",
        paged=False),
    "get_dataset_queued_events": Case(
        seed_dataset_queue_of_dags, "GET", f"{API}/datasets/queuedEvent/s3%3A%2F%2Fd%2F0000",
        "datasets", paged=False),
}


SPEC = spec()


# Collections the server builds from the code its process loaded, without reading the database.
NOT_FROM_THE_DATABASE = frozenset({"get_plugins", "get_providers"})


def list_operations() -> set[str]:
    """The operations of the contract that answer a collection from the database."""
    found = set()
    for operation_id, method, path, operation in operations():
        if method == "POST" and path.endswith("/list"):
            found.add(operation_id)
            continue
        answer = resolved(SPEC, operation["responses"].get("200", {}))
        schema = answer.get("content", {}).get("application/json", {}).get("schema")
        if method == "GET" and schema and "total_entries" in resolved(SPEC, schema).get(
                "properties", {}):
            found.add(operation_id)
    return found - NOT_FROM_THE_DATABASE


def test_every_list_operation_has_a_case():
    assert list_operations() == set(CASES)


def count(client, case: Case, limit: int, rows: int) -> int:
    with statements() as sent:
        response = case.request(client, limit, rows)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total_entries"] >= rows
    assert len(body[case.key]) == (min(limit, rows) if case.paged else rows)
    return len(sent)


@pytest.mark.parametrize("operation_id", sorted(CASES))
def test_a_list_costs_a_fixed_number_of_statements(client, operation_id):
    case = CASES[operation_id]
    case.seed(0, SIZES[0])
    case.request(client, LIMITS[0], SIZES[0])  # warm up: the login is remembered after it
    counts = {(SIZES[0], limit): count(client, case, limit, SIZES[0]) for limit in LIMITS}
    case.seed(SIZES[0], SIZES[1])
    counts |= {(SIZES[1], limit): count(client, case, limit, SIZES[1]) for limit in LIMITS}
    assert len(set(counts.values())) == 1, counts
    assert max(counts.values()) <= case.most, counts
