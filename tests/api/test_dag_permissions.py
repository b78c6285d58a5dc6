"""Per-DAG access: callers whose roles grant DAGs one by one (`DAG:<dag_id>`) see and change only
those DAGs' objects, everywhere the API lists or reaches across DAGs.

Two DAGs are seeded alike, SHOWN and HIDDEN, with a run, task instances, an XCom, event log
entries, a warning and an import error each. The reader may read SHOWN only; every list answers
what an admin sees of SHOWN (and of no DAG, for the audit trail), with a matching total.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select

from tests.api.helpers import API, assert_problem
from tests.support.queries import statements
from tests.support.seed import add_dag, add_run, add_xcom, sample_dag
from windsock.dags.store import file_token
from windsock.db.engine import session
from windsock.db.models import Dag, DagWarning, EventLog, ImportError, Role, User
from windsock.security.model import (ACCESS, API as API_RESOURCE, DAGS, EDIT, READ,
                                     dag_resource)
from windsock.security.passwords import hash_password
from windsock.security.roles import permissions

SHOWN, HIDDEN, RUN = "shown", "hidden", "run_1"
PASSWORD = "per-dag-test-password"
READER = "per-dag-reader"
EDITOR = "per-dag-editor"
VIEWER = "all-dags-viewer"
# What the reader needs besides the DAG itself, for every list operation under test.
OBJECT_READS = {(READ, resource) for resource in (
    "DAG Runs", "Task Instances", "XComs", "Audit Logs", "Import Errors", "DAG Warnings",
    "DAG Code")}
ROLES = {
    READER: {(ACCESS, API_RESOURCE), (READ, dag_resource(SHOWN)), *OBJECT_READS},
    # Reads both DAGs, edits one: a multi-DAG write must follow `can_edit`, not `can_read`.
    EDITOR: {(ACCESS, API_RESOURCE), (READ, dag_resource(SHOWN)), (READ, dag_resource(HIDDEN)),
             (EDIT, dag_resource(SHOWN)), *OBJECT_READS},
    VIEWER: {(ACCESS, API_RESOURCE), (READ, DAGS), *OBJECT_READS},
}
_PASSWORD_HASH = hash_password(PASSWORD)  # hashing is slow by design: once for every user


# Setup


def _seed_dag(dag_id: str, fileloc: str | None = None) -> None:
    dag = sample_dag(dag_id)
    dag.fileloc = fileloc or dag.fileloc
    add_dag(dag)
    add_run(dag, RUN, state="success", states={"extract": "success", "transform": "failed"})
    add_xcom(dag_id, RUN, "extract", "return_value", [1, 2, 3])
    with session() as sess:
        sess.add_all([
            EventLog(event="trigger", dag_id=dag_id, run_id=RUN, owner="admin", extra="{}"),
            EventLog(event="clear", dag_id=dag_id, task_id="extract", owner="admin", extra="{}"),
            DagWarning(dag_id=dag_id, warning_type="non-existent pool", message="no pool 'x'"),
            ImportError(filename=dag.fileloc, stack_trace=f"Traceback of {dag_id}"),
        ])


@pytest.fixture
def seeded(app) -> None:
    """SHOWN and HIDDEN alike, an audit entry about no DAG, an import error of a file that
    defines no DAG (any more)."""
    for dag_id in (SHOWN, HIDDEN):
        _seed_dag(dag_id)
    with session() as sess:
        sess.add_all([EventLog(event="variable.create", owner="admin", extra="{}"),
                      ImportError(filename="/dags/orphan.py", stack_trace="Traceback")])


def _create_user(name: str, pairs: set[tuple[str, str]]) -> None:
    with session() as sess:
        role = Role(name=f"{name}-role", permissions=permissions(sess, pairs))
        sess.add(User(username=name, email=f"{name}@example.org", password_hash=_PASSWORD_HASH,
                      active=True, roles=[role]))


@pytest.fixture
def as_user(app) -> Iterator[Callable[[str], Any]]:
    """as_user(READER) is a client authenticated as that user, who is created on first use."""
    clients = {}

    def client_of(name: str):
        if name not in clients:
            _create_user(name, ROLES[name])
            clients[name] = app.test_client()
            clients[name].auth = (name, PASSWORD)
        return clients[name]

    yield client_of  # the shared clean-up removes the users, their roles and DAG resources


# The list operations


@dataclass(frozen=True)
class Listing:
    """A list operation, and which DAG each item it answers belongs to."""

    url: str
    key: str
    body: dict[str, Any] | None = None  # a POST `.../list` form
    dag_of: Callable[[dict], str | None] = lambda item: item["dag_id"]
    also_visible: frozenset = field(default=frozenset())  # dag_of values any reader sees

    def call(self, client) -> dict[str, Any]:
        url = f"{API}{self.url}"
        response = client.get(url) if self.body is None else client.post(url, json=self.body)
        assert response.status_code == 200, response.text
        return response.json()


def _file_dag(item: dict) -> str:
    return item["filename"].removeprefix("/dags/").removesuffix(".py")


TIS = "/dags/~/dagRuns/~/taskInstances"
LISTINGS = {
    "get_dags": Listing("/dags", "dags"),
    "get_dag_runs": Listing("/dags/~/dagRuns", "dag_runs"),
    "get_dag_runs_batch": Listing("/dags/~/dagRuns/list", "dag_runs", body={}),
    "get_dag_runs_batch with dag_ids": Listing("/dags/~/dagRuns/list", "dag_runs",
                                               body={"dag_ids": [SHOWN, HIDDEN]}),
    "get_task_instances": Listing(TIS, "task_instances"),
    "get_task_instances of a named run": Listing(f"/dags/~/dagRuns/{RUN}/taskInstances",
                                                 "task_instances"),
    "get_task_instances_batch": Listing(f"{TIS}/list", "task_instances", body={}),
    "get_task_instances_batch with dag_ids": Listing(f"{TIS}/list", "task_instances",
                                                     body={"dag_ids": [SHOWN, HIDDEN]}),
    "get_xcom_entries": Listing(f"{TIS}/~/xcomEntries", "xcom_entries"),
    "get_xcom_entries of a named task": Listing(f"{TIS}/extract/xcomEntries", "xcom_entries"),
    "get_dag_stats": Listing(f"/dagStats?dag_ids={SHOWN},{HIDDEN}", "dags"),
    "get_dag_warnings": Listing("/dagWarnings", "dag_warnings"),
    "get_event_logs": Listing("/eventLogs", "event_logs", also_visible=frozenset({None})),
    "get_import_errors": Listing("/importErrors", "import_errors", dag_of=_file_dag),
}


@pytest.mark.parametrize("name", LISTINGS)
def test_a_per_dag_reader_lists_only_the_objects_of_its_dag(seeded, client, as_user, name):
    listing = LISTINGS[name]
    everything = listing.call(client)[listing.key]
    assert {SHOWN, HIDDEN} <= {listing.dag_of(item) for item in everything}
    expected = [item for item in everything
                if listing.dag_of(item) in {SHOWN, *listing.also_visible}]

    answer = listing.call(as_user(READER))

    assert answer[listing.key] == expected
    assert answer["total_entries"] == len(expected)


@pytest.mark.parametrize("name", LISTINGS)
def test_a_reader_of_every_dag_lists_everything(seeded, client, as_user, name):
    listing = LISTINGS[name]
    assert listing.call(as_user(VIEWER)) == listing.call(client)


def _statements_sent(client, listing: Listing) -> int:
    listing.call(client)  # the login is remembered after the first request
    with statements() as sent:
        listing.call(client)
    return len(sent)


@pytest.mark.parametrize("name", LISTINGS)
def test_the_filter_costs_no_statement_of_its_own(seeded, client, as_user, name):
    listing = LISTINGS[name]
    assert _statements_sent(as_user(READER), listing) == _statements_sent(client, listing)


def test_the_filter_is_a_subquery_of_the_count_and_of_the_page(seeded, as_user):
    reader = as_user(READER)
    LISTINGS["get_dag_runs"].call(reader)  # the login is remembered after the first request
    with statements() as sent:
        LISTINGS["get_dag_runs"].call(reader)
    of_runs = [statement for statement in sent if "FROM dag_run" in statement]
    assert len(of_runs) == 2, of_runs  # the COUNT and the page, nothing else about runs
    for statement in of_runs:
        assert "IN (SELECT" in statement and "user_role" in statement, statement


# Single objects of the other DAG


HIDDEN_PATHS = [f"/dags/{HIDDEN}{rest}" for rest in (
    "", "/details", "/tasks", "/tasks/extract", "/dagRuns", f"/dagRuns/{RUN}",
    f"/dagRuns/{RUN}/taskInstances", f"/dagRuns/{RUN}/taskInstances/extract",
    f"/dagRuns/{RUN}/taskInstances/extract/tries",
    f"/dagRuns/{RUN}/taskInstances/extract/xcomEntries",
    f"/dagRuns/{RUN}/taskInstances/extract/xcomEntries/return_value")]


@pytest.mark.parametrize("path", HIDDEN_PATHS)
def test_a_path_naming_an_unreadable_dag_is_forbidden(seeded, as_user, path):
    response = as_user(READER).get(f"{API}{path}")
    assert_problem(response, 403, "can_read on DAGs", repr(HIDDEN))


def _id_of(model, *conditions) -> int:
    with session() as sess:
        return sess.scalar(select(model.id).where(*conditions).limit(1))


def test_event_log_entries_of_an_unreadable_dag_are_not_found(seeded, as_user):
    reader = as_user(READER)
    hidden = _id_of(EventLog, EventLog.dag_id == HIDDEN)
    assert_problem(reader.get(f"{API}/eventLogs/{hidden}"), 404, str(hidden))
    for visible in (_id_of(EventLog, EventLog.dag_id == SHOWN),
                    _id_of(EventLog, EventLog.dag_id.is_(None))):
        assert reader.get(f"{API}/eventLogs/{visible}").json()["event_log_id"] == visible


def test_import_errors_of_files_without_a_readable_dag_are_not_found(seeded, as_user):
    reader = as_user(READER)
    for filename in (f"/dags/{HIDDEN}.py", "/dags/orphan.py"):
        hidden = _id_of(ImportError, ImportError.filename == filename)
        assert_problem(reader.get(f"{API}/importErrors/{hidden}"), 404, str(hidden))
        assert as_user(VIEWER).get(f"{API}/importErrors/{hidden}").status_code == 200
    shown = _id_of(ImportError, ImportError.filename == f"/dags/{SHOWN}.py")
    trace = reader.get(f"{API}/importErrors/{shown}").json()["stack_trace"]
    assert trace == f"Traceback of {SHOWN}"


def test_a_file_with_an_unreadable_dag_hides_its_source_and_stack_trace(seeded, as_user):
    """A file defining a readable and an unreadable DAG: its import error is listed with the
    stack trace redacted (as Airflow does), its source is not found."""
    _seed_dag("hidden_twin", fileloc=f"/dags/{SHOWN}.py")
    reader, viewer = as_user(READER), as_user(VIEWER)
    error = _id_of(ImportError, ImportError.filename == f"/dags/{SHOWN}.py")
    assert reader.get(f"{API}/importErrors/{error}").json()["stack_trace"].startswith("REDACTED")
    assert viewer.get(f"{API}/importErrors/{error}").json()["stack_trace"].startswith("Traceback")
    source = f"{API}/dagSources/{file_token(f'/dags/{SHOWN}.py')}"
    assert_problem(reader.get(source), 404, "does not exist")
    assert viewer.get(source).status_code == 200


def test_the_source_of_an_unreadable_dags_file_is_not_found(seeded, as_user):
    reader = as_user(READER)
    assert reader.get(f"{API}/dagSources/{file_token(f'/dags/{SHOWN}.py')}").status_code == 200
    hidden = f"{API}/dagSources/{file_token(f'/dags/{HIDDEN}.py')}"
    assert_problem(reader.get(hidden), 404, "does not exist")


def test_dag_ids_of_unreadable_dags_are_left_out_of_a_named_run_under_any_dag(app, as_user):
    _seed_dag(HIDDEN)
    response = as_user(READER).get(f"{API}/dags/~/dagRuns/{RUN}/taskInstances")
    assert_problem(response, 404, f"No DAG has a run {RUN!r}")


# Writes across DAGs


def _paused() -> dict[str, bool]:
    with session() as sess:
        return dict(sess.execute(select(Dag.dag_id, Dag.is_paused)).tuples().all())


def test_patching_dags_changes_only_those_the_caller_may_edit(seeded, as_user):
    response = as_user(EDITOR).patch(f"{API}/dags", params={"dag_id_pattern": "~"},
                                     json={"is_paused": True})
    assert response.status_code == 200, response.text
    assert [dag["dag_id"] for dag in response.json()["dags"]] == [SHOWN]
    assert response.json()["total_entries"] == 1
    assert _paused() == {SHOWN: True, HIDDEN: False}


def test_a_dag_file_is_parsed_again_only_for_an_editor_of_its_dags(seeded, as_user):
    editor = as_user(EDITOR)
    shown, hidden = (f"{API}/parseDagFile/{file_token(f'/dags/{d}.py')}" for d in (SHOWN, HIDDEN))
    assert editor.put(shown).status_code == 201
    assert_problem(editor.put(hidden), 403, "can_edit", "DAG file")
    assert_problem(as_user(READER).put(shown), 403, "can_edit on DAGs")
