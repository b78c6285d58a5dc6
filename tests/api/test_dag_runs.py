"""DAG runs: listing (per DAG and across DAGs), triggering, reading, marking, clearing, notes,
deleting."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import event, func, select

from tests.api.helpers import API, assert_problem, links
from tests.conftest import ADMIN
from tests.support.db_state import run_row, snapshot, task_states, tries
from tests.support.seed import EPOCH, add_dag, add_run, add_xcom, sample_dag
from tests.support.server import api_server
from windsock.db.engine import engine, session
from windsock.db.models import Dag, DagRun, EventLog, TaskInstance, TaskInstanceTry, XCom

TASKS = {"extract", "transform", "load", "report"}
DAY = timedelta(days=1)


def runs_url(dag_id: str = "sample") -> str:
    return f"{API}/dags/{dag_id}/dagRuns"


def run_url(run_id: str, dag_id: str = "sample") -> str:
    return f"{runs_url(dag_id)}/{run_id}"


def ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [run["dag_run_id"] for run in response.json()["dag_runs"]]


@pytest.fixture
def dag(migrated):
    dag = sample_dag()
    add_dag(dag)
    return dag


@pytest.fixture
def three_runs(dag):
    """r1 (success), r2 (failed), r3 (running) on three consecutive days; `other` has one run."""
    for n, state in enumerate(("success", "failed", "running")):
        add_run(dag, f"r{n + 1}", state=state, logical_date=EPOCH + n * DAY,
                start=EPOCH + n * DAY + timedelta(hours=1))
    other = sample_dag("other")
    add_dag(other)
    add_run(other, "o1", state="queued", logical_date=EPOCH + 5 * DAY)
    return dag


# --- listing -------------------------------------------------------------------------------------

def test_list_runs_of_one_dag(client, three_runs):
    response = client.get(runs_url())
    assert ids(response) == ["r1", "r2", "r3"]
    assert response.json()["total_entries"] == 3
    first = response.json()["dag_runs"][0]
    assert first["dag_id"] == "sample" and first["state"] == "success"
    assert first["logical_date"] == first["execution_date"] == "2026-01-01T00:00:00+00:00"
    assert first["conf"] == {} and first["external_trigger"] is True


def test_list_runs_of_every_dag_with_wildcard(client, three_runs):
    assert ids(client.get(runs_url("~"))) == ["r1", "r2", "r3", "o1"]


def test_list_of_unknown_dag_is_404(client, migrated):
    assert_problem(client.get(runs_url("nope")), 404, "nope")


def test_list_pages_with_links(client, three_runs):
    """The links keep every argument of the request, each value of a repeated one included."""
    response = client.get(runs_url(), params={"limit": 1, "offset": 1,
                                              "order_by": ["dag_id", "-dag_run_id"]})
    assert ids(response) == ["r2"]
    assert response.json()["total_entries"] == 3
    pages = links(response)
    assert set(pages) == {"next", "prev"}
    assert ids(client.get(pages["next"])) == ["r1"] and ids(client.get(pages["prev"])) == ["r3"]


def test_list_limit_above_maximum_is_400(client, dag):
    assert_problem(client.get(runs_url(), params={"limit": 101}), 400, "'limit'", "maximum of 100")


@pytest.mark.parametrize(("params", "expected"), [
    ({"execution_date_gte": "2026-01-02T00:00:00Z"}, ["r2", "r3"]),
    ({"execution_date_lte": "2026-01-02T00:00:00+00:00"}, ["r1", "r2"]),
    ({"execution_date_gte": "2026-01-02T01:00:00+01:00",
      "execution_date_lte": "2026-01-02T00:00:00Z"}, ["r2"]),
    ({"start_date_gte": "2026-01-02T01:00:00Z"}, ["r2", "r3"]),
    ({"start_date_lte": "2026-01-01T01:00:00Z"}, ["r1"]),
    ({"state": ["failed", "running"]}, ["r2", "r3"]),
    ({"state": "success"}, ["r1"]),
])
def test_list_filters(client, three_runs, params, expected):
    assert ids(client.get(runs_url(), params=params)) == expected


def test_end_date_and_updated_at_filters(client, three_runs):
    client.patch(run_url("r3"), json={"state": "success"})
    marked = client.get(run_url("r3")).json()
    assert ids(client.get(runs_url(), params={"end_date_gte": marked["end_date"]})) == ["r3"]
    assert ids(client.get(runs_url(), params={"end_date_lte": marked["end_date"]})) == ["r3"]
    after = {"updated_at_gte": marked["updated_at"]}
    assert ids(client.get(runs_url(), params=after)) == ["r3"]
    before = {"updated_at_lte": marked["updated_at"]}
    assert ids(client.get(runs_url(), params=before)) == ["r1", "r2", "r3"]


@pytest.mark.parametrize("name", ["execution_date_gte", "start_date_lte", "updated_at_gte"])
def test_naive_datetime_filter_is_400(client, dag, name):
    assert_problem(client.get(runs_url(), params={name: "2026-01-01T00:00:00"}), 400, name)


@pytest.mark.parametrize(("order_by", "expected"), [
    ("-id", ["o1", "r3", "r2", "r1"]),
    ("-execution_date", ["o1", "r3", "r2", "r1"]),
    ("dag_run_id", ["o1", "r1", "r2", "r3"]),
    ("state", ["r2", "o1", "r3", "r1"]),
    ("-dag_id", ["r3", "r2", "r1", "o1"]),
    ("start_date", ["r1", "r2", "r3", "o1"]),  # o1 never started: NULLs last
    ("-start_date", ["o1", "r3", "r2", "r1"]),
])
def test_list_ordering(client, three_runs, order_by, expected):
    assert ids(client.get(runs_url("~"), params={"order_by": order_by})) == expected


def test_list_ordering_by_unknown_field_is_400(client, dag):
    assert_problem(client.get(runs_url(), params={"order_by": "note"}), 400, "order_by")


def test_list_fields(client, three_runs):
    response = client.get(runs_url(), params={"fields": "state,conf"})
    assert response.json()["dag_runs"][0] == {"dag_id": "sample", "dag_run_id": "r1",
                                               "state": "success", "conf": {}}


def test_list_costs_the_same_queries_whatever_the_size(client, dag):
    def statements() -> int:
        seen = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(engine(), "before_cursor_execute", listener)
        try:
            assert client.get(runs_url("~")).status_code == 200
        finally:
            event.remove(engine(), "before_cursor_execute", listener)
        return len(seen)

    add_run(dag, "first")
    few = statements()
    for n in range(1, 30):
        add_run(dag, f"run{n}", logical_date=EPOCH + n * DAY)
    assert statements() == few


# --- listing with the form -----------------------------------------------------------------------

def batch(client, **form):
    return client.post(f"{API}/dags/~/dagRuns/list", json=form)


def test_batch_lists_every_dag_without_links(client, three_runs):
    response = batch(client, page_limit=2)
    assert ids(response) == ["r1", "r2"]
    assert response.json()["total_entries"] == 4
    assert "link" not in response.headers


@pytest.mark.parametrize(("form", "expected"), [
    ({"dag_ids": ["other"]}, ["o1"]),
    ({"dag_ids": ["other", "sample", "missing"], "states": ["queued", "failed"]}, ["r2", "o1"]),
    ({"dag_ids": []}, ["r1", "r2", "r3", "o1"]),
    ({"execution_date_gte": "2026-01-02T00:00:00Z", "execution_date_lte": "2026-01-03T00:00:00Z"},
     ["r2", "r3"]),
    ({"start_date_gte": "2026-01-03T01:00:00Z"}, ["r3"]),
    ({"end_date_lte": "2030-01-01T00:00:00Z"}, []),
    ({"order_by": "-execution_date", "page_offset": 1, "page_limit": 2}, ["r3", "r2"]),
])
def test_batch_filters(client, three_runs, form, expected):
    assert ids(batch(client, **form)) == expected


def test_batch_limit_above_maximum_is_400(client, dag):
    assert_problem(batch(client, page_limit=1000), 400, "'page_limit'", "maximum of 100")


def test_batch_page_size_defaults_to_a_lower_configured_maximum(client, three_runs, monkeypatch):
    monkeypatch.setenv("WINDSOCK__API__MAXIMUM_PAGE_LIMIT", "2")
    response = batch(client)
    assert ids(response) == ["r1", "r2"]
    assert response.json()["total_entries"] == 4


def test_batch_naive_datetime_is_400(client, dag):
    assert_problem(batch(client, start_date_gte="2026-01-01T00:00:00"), 400, "start_date_gte")


def test_batch_writes_no_event_log(client, three_runs):
    batch(client)
    with session() as sess:
        assert sess.scalar(select(func.count()).select_from(EventLog)) == 0


# --- triggering ----------------------------------------------------------------------------------

def test_trigger_creates_a_queued_run_with_its_task_instances(client, dag):
    response = client.post(runs_url(), json={"dag_run_id": "manual_1", "conf": {"batch_size": 5},
                                             "logical_date": "2026-02-01T02:00:00+02:00",
                                             "note": "by hand"})
    assert response.status_code == 201, response.text
    run = response.json()
    assert response.headers["location"].endswith("/api/v1/dags/sample/dagRuns/manual_1")
    assert run["dag_run_id"] == "manual_1" and run["state"] == "queued"
    assert run["logical_date"] == run["execution_date"] == "2026-02-01T00:00:00+00:00"
    assert run["run_type"] == "manual" and run["external_trigger"] is True
    assert run["conf"] == {"batch_size": 5} and run["note"] == "by hand"
    assert run["start_date"] is None and run["queued_at"] is not None
    assert task_states("sample", "manual_1") == dict.fromkeys(TASKS)
    read = client.get(response.headers["location"])
    assert read.json() == run and read.headers["etag"] == response.headers["etag"]
    with session() as sess:
        assert list(sess.scalars(select(EventLog.event).where(EventLog.dag_id == "sample"))) \
            == ["post_dag_run"]


def test_trigger_fills_conf_with_param_defaults(client, dag):
    response = client.post(runs_url(), json={})
    assert response.status_code == 201, response.text
    run = response.json()
    assert run["conf"] == {"batch_size": 10}
    assert run["dag_run_id"].startswith("manual__" + run["logical_date"][:10])
    assert json.loads(run_row("sample", run["dag_run_id"]).conf) == {"batch_size": 10}


def test_trigger_twice_in_the_same_second_gives_two_runs(client, dag):
    first, second = (client.post(runs_url(), json={}) for _ in range(2))
    assert first.status_code == second.status_code == 201
    assert first.json()["dag_run_id"] != second.json()["dag_run_id"]


def test_triggers_in_the_same_microsecond_take_the_next_free_ones(client, dag, monkeypatch):
    """Logical dates are unique per DAG; a trigger without one must not fail because another
    trigger took the same instant, and a given date that is taken stays a 409."""
    from windsock.impl import dag_run as impl

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return EPOCH

    monkeypatch.setattr(impl, "datetime", Frozen)
    created = [client.post(runs_url(), json={}) for _ in range(impl.DEFAULT_DATE_ATTEMPTS)]
    assert [r.status_code for r in created] == [201] * impl.DEFAULT_DATE_ATTEMPTS
    assert [r.json()["logical_date"] for r in created] == [
        (EPOCH + timedelta(microseconds=step)).isoformat()
        for step in range(impl.DEFAULT_DATE_ATTEMPTS)]
    assert_problem(client.post(runs_url(), json={}), 409, EPOCH.isoformat())
    assert_problem(client.post(runs_url(), json={"logical_date": EPOCH.isoformat()}), 409)
    assert set(task_states("sample", created[-1].json()["dag_run_id"])) == TASKS
    with session() as sess:
        assert sess.scalar(select(func.count()).select_from(DagRun)) \
            == impl.DEFAULT_DATE_ATTEMPTS


def test_trigger_accepts_execution_date_and_a_matching_logical_date(client, dag):
    response = client.post(runs_url(), json={"execution_date": "2026-03-01T00:00:00Z",
                                             "logical_date": "2026-03-01T01:00:00+01:00"})
    assert response.status_code == 201, response.text
    assert response.json()["logical_date"] == "2026-03-01T00:00:00+00:00"
    only_old_name = client.post(runs_url(), json={"execution_date": "2026-03-02T00:00:00Z"})
    assert only_old_name.json()["logical_date"] == "2026-03-02T00:00:00+00:00"


def test_trigger_with_disagreeing_dates_is_422(client, dag):
    response = client.post(runs_url(), json={"execution_date": "2026-03-01T00:00:00Z",
                                             "logical_date": "2026-03-02T00:00:00Z"})
    assert_problem(response, 422, "execution_date", "logical_date")


def test_trigger_with_naive_logical_date_is_400(client, dag):
    assert_problem(client.post(runs_url(), json={"logical_date": "2026-03-01T00:00:00"}),
                   400, "logical_date")


@pytest.mark.parametrize(("conf", "word"), [
    ({"batch_size": 0}, "batch_size"),
    ({"batch_size": "ten"}, "batch_size"),
])
def test_trigger_with_invalid_conf_is_422(client, dag, conf, word):
    body = assert_problem(client.post(runs_url(), json={"conf": conf}), 422, word)
    assert body["type"].endswith("#unprocessable-content")
    with session() as sess:
        assert sess.scalar(select(func.count()).select_from(DagRun)) == 0


def test_trigger_keeps_conf_keys_that_name_no_param(client, dag):
    response = client.post(runs_url(), json={"conf": {"source": "s3://bucket", "batch_size": 5}})
    assert response.status_code == 201
    assert response.json()["conf"] == {"source": "s3://bucket", "batch_size": 5}


def test_trigger_without_a_required_param_is_422(client, migrated):
    from windsock import DAG, Param, ShellTask

    with DAG("needs_date", params={"target_date": Param(type="string")}) as dag:
        ShellTask("echo", "echo hi")
    dag.fileloc = "/dags/needs_date.py"
    add_dag(dag)
    assert_problem(client.post(runs_url("needs_date"), json={}), 422, "target_date")
    ok = client.post(runs_url("needs_date"), json={"conf": {"target_date": "2026-01-01"}})
    assert ok.status_code == 201 and ok.json()["conf"] == {"target_date": "2026-01-01"}


@pytest.mark.parametrize("dag_id", ["nope", "~"])
def test_trigger_of_unknown_dag_is_404(client, migrated, dag_id):
    assert_problem(client.post(runs_url(dag_id), json={}), 404)


def test_trigger_of_a_dag_deleted_after_it_was_read_is_404(client, dag, monkeypatch):
    """The trigger reads the DAG before its transaction begins; a DAG deleted in between is
    gone (404), not a clash with an existing run (409)."""
    from windsock.impl import dag_run as impl

    read = impl.lookups.serialized_dag

    def read_then_delete(sess, dag_id):
        found = read(sess, dag_id)
        with engine().begin() as conn:  # another client's delete, committed at once
            conn.execute(Dag.__table__.delete().where(Dag.dag_id == dag_id))
        return found

    monkeypatch.setattr(impl.lookups, "serialized_dag", read_then_delete)
    assert_problem(client.post(runs_url(), json={}), 404, "sample")
    with session() as sess:
        assert sess.scalar(select(func.count()).select_from(DagRun)) == 0


def test_trigger_of_dag_with_import_errors_is_422_of_its_own_type(client, dag):
    with session() as sess:
        sess.get(Dag, "sample").has_import_errors = True
    body = assert_problem(client.post(runs_url(), json={}), 422, "sample", "/dags/sample.py")
    assert body["type"].endswith("#dag-has-import-errors")
    assert body["title"] == "DAG Has Import Errors"


@pytest.mark.parametrize("flags", [{"paused": True}, {"active": False}])
def test_paused_or_inactive_dag_can_be_triggered(client, migrated, flags):
    add_dag(sample_dag(), **flags)
    assert client.post(runs_url(), json={}).status_code == 201


@pytest.mark.parametrize("clash", [
    {"dag_run_id": "r1", "logical_date": "2026-05-01T00:00:00Z"},
    {"dag_run_id": "fresh", "logical_date": "2026-01-01T00:00:00Z"},
])
def test_trigger_clashing_with_an_existing_run_is_409(client, three_runs, clash):
    before = snapshot()
    assert_problem(client.post(runs_url(), json=clash), 409, "sample")
    assert snapshot() == before


@pytest.fixture(scope="module")
def live_server(migrated):
    """A real server process: the in-process client cannot send concurrent requests."""
    with api_server(migrated) as base:
        yield base


def test_concurrent_triggers_of_one_run_id_create_one_run(live_server, dag):
    start = threading.Barrier(20)

    def trigger(_) -> int:
        with httpx.Client(base_url=live_server, auth=ADMIN, timeout=60) as http:
            start.wait()
            return http.post(runs_url(), json={"dag_run_id": "once"}).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = sorted(pool.map(trigger, range(20)))
    assert statuses == [201] + [409] * 19
    with session() as sess:
        assert sess.scalar(select(func.count()).select_from(DagRun)) == 1
    assert set(task_states("sample", "once")) == TASKS


def test_same_run_id_in_another_dag_is_fine(client, three_runs):
    response = client.post(runs_url("other"), json={"dag_run_id": "r1"})
    assert response.status_code == 201, response.text


def test_trigger_rejects_bad_run_ids_and_extra_fields(client, dag):
    assert_problem(client.post(runs_url(), json={"dag_run_id": "~x"}), 400, "dag_run_id")
    assert_problem(client.post(runs_url(), json={"state": "running"}), 400, "state")


# --- one run -------------------------------------------------------------------------------------

def test_get_run_with_etag_and_304(client, three_runs):
    response = client.get(run_url("r2"))
    assert response.status_code == 200
    assert response.json()["state"] == "failed"
    again = client.get(run_url("r2"), headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


def test_get_run_fields(client, three_runs):
    response = client.get(run_url("r2"), params={"fields": "note"})
    assert response.json() == {"dag_id": "sample", "dag_run_id": "r2", "note": None}


@pytest.mark.parametrize(("dag_id", "run_id"), [("sample", "nope"), ("other", "r1"),
                                                ("nope", "r1")])
def test_unknown_run_is_404(client, three_runs, dag_id, run_id):
    assert_problem(client.get(run_url(run_id, dag_id)), 404, run_id)
    assert_problem(client.patch(run_url(run_id, dag_id), json={"state": "failed"}), 404)
    assert_problem(client.delete(run_url(run_id, dag_id)), 404)
    assert_problem(client.post(run_url(run_id, dag_id) + "/clear", json={}), 404)
    assert_problem(client.patch(run_url(run_id, dag_id) + "/setNote", json={"note": "x"}), 404)


# --- marking -------------------------------------------------------------------------------------

MIXED = {"extract": "success", "transform": "running", "load": None, "report": "scheduled"}


def test_mark_failed_fails_running_and_skips_not_started_at_once(client, dag):
    add_run(dag, "mixed", state="running", states=MIXED, start=EPOCH)
    response = client.patch(run_url("mixed"), json={"state": "failed"})
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "failed" and response.json()["end_date"] is not None
    assert response.headers["etag"] == client.get(run_url("mixed")).headers["etag"]
    assert task_states("sample", "mixed") == {"extract": "success", "transform": "failed",
                                              "load": "skipped", "report": "skipped"}


def test_mark_success_succeeds_every_unfinished_instance(client, dag):
    add_run(dag, "mixed", state="running", states={**MIXED, "extract": "failed"}, start=EPOCH)
    assert client.patch(run_url("mixed"), json={"state": "success"}).status_code == 200
    assert task_states("sample", "mixed") == {"extract": "failed", "transform": "success",
                                              "load": "success", "report": "success"}


def test_mark_queued_requeues_and_leaves_instances(client, dag):
    add_run(dag, "done", state="failed", states={"extract": "failed"}, start=EPOCH)
    response = client.patch(run_url("done"), json={"state": "queued"})
    run = response.json()
    assert run["state"] == "queued" and run["start_date"] is None and run["end_date"] is None
    assert task_states("sample", "done")["extract"] == "failed"


def test_mark_with_stale_if_match_is_412_and_changes_nothing(client, three_runs):
    etag = client.get(run_url("r3")).headers["etag"]
    client.patch(run_url("r3"), json={"state": "success"}, headers={"If-Match": etag})
    before = snapshot()
    response = client.patch(run_url("r3"), json={"state": "failed"}, headers={"If-Match": etag})
    assert_problem(response, 412)
    assert snapshot() == before


@pytest.mark.parametrize("body", [{"state": "running"}, {"state": "failed", "note": "x"}])
def test_mark_with_invalid_body_is_400(client, three_runs, body):
    assert_problem(client.patch(run_url("r3"), json=body), 400)


def test_mark_without_state_is_422(client, three_runs):
    assert_problem(client.patch(run_url("r3"), json={}), 422, "state")


# --- clearing ------------------------------------------------------------------------------------

def test_clear_dry_run_lists_every_instance_and_changes_nothing(client, dag):
    add_run(dag, "done", state="failed", states={"extract": "success", "transform": "failed",
                                                 "load": "upstream_failed"}, start=EPOCH)
    before = snapshot()
    response = client.post(run_url("done") + "/clear", json={})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total_entries"] == 4
    assert [ti["task_id"] for ti in body["task_instances"]] == sorted(TASKS)
    extract = body["task_instances"][0]
    assert extract["state"] == "success" and extract["try_number"] == 1
    assert extract["execution_date"] == "2026-01-01T00:00:00+00:00"
    assert snapshot() == before


def test_clear_archives_finished_tries_and_requeues_the_run(client, dag):
    add_run(dag, "done", state="failed", start=EPOCH,
            states={"extract": "success", "transform": "failed", "load": "upstream_failed",
                    "report": "running"})
    response = client.post(run_url("done") + "/clear", json={"dry_run": False})
    assert response.status_code == 200, response.text
    run = response.json()
    assert run["dag_run_id"] == "done" and run["state"] == "queued"
    assert run["start_date"] is None and run["end_date"] is None
    assert task_states("sample", "done") == {"extract": None, "transform": None, "load": None,
                                             "report": "restarting"}
    # The running try is archived by its runner once it has stopped it, not here.
    assert tries("sample") == [("done", "extract", 1, "success"), ("done", "load", 1,
                               "upstream_failed"), ("done", "transform", 1, "failed")]
    with session() as sess:
        load = sess.get(TaskInstance, ("sample", "done", "load", -1))
        assert (load.try_number, load.max_tries) == (1, 3)  # its 2 retries given again


def test_clearing_twice_keeps_one_try(client, dag):
    add_run(dag, "done", state="failed", states={"extract": "failed"}, start=EPOCH)
    for _ in range(2):
        assert client.post(run_url("done") + "/clear", json={"dry_run": False}).status_code == 200
    assert tries("sample") == [("done", "extract", 1, "failed")]


# --- notes and deleting --------------------------------------------------------------------------

def test_set_and_remove_note(client, three_runs):
    response = client.patch(run_url("r1") + "/setNote", json={"note": "looked at it"})
    assert response.status_code == 200 and response.json()["note"] == "looked at it"
    assert client.get(run_url("r1")).json()["note"] == "looked at it"
    etag = response.headers["etag"]
    removed = client.patch(run_url("r1") + "/setNote", json={"note": None},
                           headers={"If-Match": etag})
    assert removed.status_code == 200 and removed.json()["note"] is None
    stale = client.patch(run_url("r1") + "/setNote", json={"note": "x"}, headers={"If-Match": etag})
    assert_problem(stale, 412)


def test_note_with_nul_is_400(client, three_runs):
    assert_problem(client.patch(run_url("r1") + "/setNote", json={"note": "a\x00b"}), 400, "note")


def test_delete_cascades_to_instances_tries_and_xcoms(client, dag):
    add_run(dag, "doomed", state="failed", states={"extract": "failed"}, start=EPOCH)
    add_run(dag, "kept", logical_date=EPOCH + DAY)
    add_xcom("sample", "doomed", "extract", "return_value", [1])
    client.post(run_url("doomed") + "/clear", json={"dry_run": False})
    assert client.delete(run_url("doomed")).status_code == 204
    assert client.get(run_url("doomed")).status_code == 404
    with session() as sess:
        for model in (TaskInstance, TaskInstanceTry, XCom):
            assert sess.scalar(select(func.count()).select_from(model).where(
                model.run_id == "doomed")) == 0
    assert set(task_states("sample", "kept")) == TASKS


def test_delete_with_stale_if_match_is_412(client, three_runs):
    etag = client.get(run_url("r1")).headers["etag"]
    client.patch(run_url("r1") + "/setNote", json={"note": "changed"})
    assert_problem(client.delete(run_url("r1"), headers={"If-Match": etag}), 412)
    assert client.get(run_url("r1")).status_code == 200
    fresh = client.get(run_url("r1")).headers["etag"]
    assert client.delete(run_url("r1"), headers={"If-Match": fresh}).status_code == 204
