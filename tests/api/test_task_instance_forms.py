"""The DAG's task-instance forms: clearing task instances and setting their state in bulk."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api.helpers import API, assert_problem
from tests.support.db_state import run_row, snapshot, task_states, tries
from tests.support.seed import EPOCH, add_dag, add_run, sample_dag
from windsock.db.engine import session
from windsock.db.models import TaskInstance

DAY = timedelta(days=1)
CLEAR = f"{API}/dags/sample/clearTaskInstances"
SET_STATE = f"{API}/dags/sample/updateTaskInstancesState"
ALL_STATES = {"only_failed": False}


@pytest.fixture
def runs(migrated):
    """Three runs of extract >> transform >> [load, report], a day apart."""
    dag = sample_dag()
    add_dag(dag)
    add_run(dag, "d1", state="failed", logical_date=EPOCH, states={
        "extract": "success", "transform": "failed", "load": "upstream_failed",
        "report": "upstream_failed"})
    add_run(dag, "d2", state="running", logical_date=EPOCH + DAY, states={
        "extract": "success", "transform": "success", "load": "running", "report": "success"})
    add_run(dag, "d3", state="running", logical_date=EPOCH + 2 * DAY, states={
        "extract": "failed", "transform": "upstream_failed"})
    return dag


def selected(response) -> list[tuple[str, str]]:
    """(run id, task id) of each answered instance, checking the reference's shape."""
    assert response.status_code == 200, response.text
    instances = response.json()["task_instances"]
    for ti in instances:
        assert set(ti) == {"task_id", "dag_id", "dag_run_id", "execution_date", "map_index"}
        assert ti["dag_id"] == "sample"
    return [(ti["dag_run_id"], ti["task_id"]) for ti in instances]


def every(run_ids, task_ids) -> list[tuple[str, str]]:
    return [(run, task) for run in run_ids for task in sorted(task_ids)]


# --- clearing ------------------------------------------------------------------------------------

def test_clear_dry_run_selects_failed_instances_and_changes_nothing(client, runs):
    before = snapshot()
    response = client.post(CLEAR, json={})
    assert selected(response) == [("d1", "load"), ("d1", "report"), ("d1", "transform"),
                                  ("d3", "extract"), ("d3", "transform")]
    assert response.json()["task_instances"][0]["execution_date"] == "2026-01-01T00:00:00+00:00"
    assert snapshot() == before


@pytest.mark.parametrize(("form", "expected"), [
    (ALL_STATES, every(["d1", "d2", "d3"], ["extract", "load", "report", "transform"])),
    ({"only_failed": False, "only_running": True}, [("d2", "load")]),
    ({**ALL_STATES, "task_ids": ["transform"]}, every(["d1", "d2", "d3"], ["transform"])),
    ({**ALL_STATES, "task_ids": ["transform"], "include_downstream": True, "dag_run_id": "d2"},
     every(["d2"], ["load", "report", "transform"])),
    ({**ALL_STATES, "task_ids": ["load"], "include_upstream": True, "dag_run_id": "d2"},
     every(["d2"], ["extract", "load", "transform"])),
    ({"task_ids": ["load", "extract"]}, [("d1", "load"), ("d3", "extract")]),
    ({**ALL_STATES, "task_ids": ["load"], "dag_run_id": "d2", "include_past": True},
     every(["d1", "d2"], ["load"])),
    ({**ALL_STATES, "task_ids": ["load"], "dag_run_id": "d2", "include_future": True},
     every(["d2", "d3"], ["load"])),
    ({**ALL_STATES, "task_ids": ["load"], "dag_run_id": "d2", "include_past": True,
      "include_future": True}, every(["d1", "d2", "d3"], ["load"])),
    ({**ALL_STATES, "task_ids": ["load"], "start_date": "2026-01-02T00:00:00Z"},
     every(["d2", "d3"], ["load"])),
    ({**ALL_STATES, "task_ids": ["load"], "end_date": "2026-01-02T00:59:59+01:00"},
     every(["d1"], ["load"])),
    ({**ALL_STATES, "task_ids": ["load"], "start_date": "2026-01-02T00:00:00Z",
      "end_date": "2026-01-02T00:00:00Z"}, every(["d2"], ["load"])),
    ({**ALL_STATES, "task_ids": ["load"], "start_date": "2026-01-02T00:00:00Z",
      "end_date": "2026-01-02T00:00:00Z", "include_past": True}, every(["d1", "d2"], ["load"])),
    ({**ALL_STATES, "task_ids": ["load"], "dag_run_id": None, "start_date": None,
      "include_subdags": True, "include_parentdag": True}, every(["d1", "d2", "d3"], ["load"])),
])
def test_clear_selection(client, runs, form, expected):
    assert selected(client.post(CLEAR, json=form)) == expected


def test_clear_for_real_archives_tries_and_leaves_runs_alone(client, runs):
    response = client.post(CLEAR, json={"dry_run": False, "dag_run_id": "d1",
                                        "reset_dag_runs": False})
    assert selected(response) == every(["d1"], ["load", "report", "transform"])
    assert task_states("sample", "d1") == {"extract": "success", "transform": None,
                                           "load": None, "report": None}
    assert tries("sample") == [("d1", "load", 1, "upstream_failed"),
                               ("d1", "report", 1, "upstream_failed"),
                               ("d1", "transform", 1, "failed")]
    assert run_row("sample", "d1").state == "failed"
    with session() as sess:
        assert sess.get(TaskInstance, ("sample", "d1", "load", -1)).max_tries == 3


def test_clear_requeues_the_affected_runs_by_default(client, runs):
    response = client.post(CLEAR, json={"dry_run": False, "task_ids": ["extract"]})
    assert selected(response) == [("d3", "extract")]
    assert task_states("sample", "d3")["extract"] is None
    cleared, untouched = run_row("sample", "d3"), run_row("sample", "d1")
    assert cleared.state == "queued" and cleared.queued_at != EPOCH + 2 * DAY
    assert untouched.state == "failed"


def test_clear_running_instance_restarts_it(client, runs):
    client.post(CLEAR, json={"dry_run": False, "only_failed": False, "only_running": True})
    assert task_states("sample", "d2")["load"] == "restarting"


@pytest.mark.parametrize(("form", "words"), [
    ({"only_running": True}, ["only_failed", "only_running"]),
    ({"start_date": "2026-01-03T00:00:00Z", "end_date": "2026-01-02T00:00:00Z"},
     ["start_date", "end_date"]),
    ({"dag_run_id": "d1", "end_date": "2026-01-02T00:00:00Z"}, ["dag_run_id", "end_date"]),
    ({"dag_run_id": "nope"}, ["nope"]),
    ({"task_ids": ["load", "nope", "nada"]}, ["'nada', 'nope'"]),
])
def test_clear_unprocessable_forms_are_422(client, runs, form, words):
    before = snapshot()
    assert_problem(client.post(CLEAR, json={**form, "dry_run": False}), 422, *words)
    assert snapshot() == before


def test_clear_with_naive_date_is_400(client, runs):
    assert_problem(client.post(CLEAR, json={"start_date": "2026-01-01T00:00:00"}), 400,
                   "start_date")


@pytest.mark.parametrize("path", ["clearTaskInstances", "updateTaskInstancesState"])
@pytest.mark.parametrize("dag_id", ["nope", "~"])
def test_forms_of_unknown_dag_are_404(client, runs, path, dag_id):
    body = {"task_id": "load", "dag_run_id": "d1", "new_state": "success"}
    if path == "clearTaskInstances":
        body = {}
    assert_problem(client.post(f"{API}/dags/{dag_id}/{path}", json=body), 404)


def test_clear_with_unknown_field_is_400(client, runs):
    assert_problem(client.post(CLEAR, json={"only_success": True}), 400, "only_success")


# --- setting states ------------------------------------------------------------------------------

def test_set_state_dry_run_changes_nothing(client, runs):
    before = snapshot()
    response = client.post(SET_STATE, json={"task_id": "transform", "dag_run_id": "d1",
                                            "new_state": "success", "include_downstream": True})
    assert selected(response) == every(["d1"], ["load", "report", "transform"])
    assert snapshot() == before


def test_set_state_answers_only_the_instances_that_change(client, runs):
    response = client.post(SET_STATE, json={
        "task_id": "load", "dag_run_id": "d1", "new_state": "success", "dry_run": False,
        "include_upstream": True})
    assert selected(response) == every(["d1"], ["load", "transform"])  # extract already was
    assert task_states("sample", "d1") == {"extract": "success", "transform": "success",
                                           "load": "success", "report": "upstream_failed"}


def test_set_running_instance_failed_ends_it(client, runs):
    response = client.post(SET_STATE, json={"task_id": "load", "execution_date":
                                            "2026-01-02T01:00:00+01:00", "new_state": "failed",
                                            "dry_run": False})
    assert selected(response) == [("d2", "load")]
    with session() as sess:
        load = sess.get(TaskInstance, ("sample", "d2", "load", -1))
        assert load.state == "failed" and load.end_date is not None
        assert load.duration is not None


@pytest.mark.parametrize(("flags", "expected"), [
    ({"include_past": True}, [("d1", "extract"), ("d2", "extract")]),
    ({"include_future": True}, [("d2", "extract")]),  # d3's extract is failed already
    ({"include_past": True, "include_future": True, "include_downstream": True},
     [("d1", "extract"), ("d1", "load"), ("d1", "report"),  # d1's transform is failed already
      ("d2", "extract"), ("d2", "load"), ("d2", "report"), ("d2", "transform"),
      ("d3", "load"), ("d3", "report"), ("d3", "transform")]),
])
def test_set_state_past_and_future(client, runs, flags, expected):
    form = {"task_id": "extract", "dag_run_id": "d2", "new_state": "failed", **flags}
    assert selected(client.post(SET_STATE, json=form)) == expected


def test_set_state_skipped(client, runs):
    form = {"task_id": "load", "dag_run_id": "d3", "new_state": "skipped", "dry_run": False}
    assert selected(client.post(SET_STATE, json=form)) == [("d3", "load")]
    assert task_states("sample", "d3")["load"] == "skipped"


@pytest.mark.parametrize(("form", "words"), [
    ({}, ["dag_run_id", "execution_date"]),
    ({"dag_run_id": "d1", "execution_date": "2026-01-01T00:00:00Z"},
     ["dag_run_id", "execution_date"]),
    ({"dag_run_id": None, "execution_date": None}, ["dag_run_id", "execution_date"]),
    ({"dag_run_id": "nope"}, ["nope"]),
    ({"execution_date": "2027-01-01T00:00:00Z"}, ["2027-01-01T00:00:00+00:00"]),
    ({"dag_run_id": "d1", "task_id": "nope"}, ["nope"]),
])
def test_set_state_unprocessable_forms_are_422(client, runs, form, words):
    before = snapshot()
    body = {"task_id": "load", "new_state": "success", "dry_run": False, **form}
    assert_problem(client.post(SET_STATE, json=body), 422, *words)
    assert snapshot() == before


def test_set_state_without_task_id_is_422(client, runs):
    assert_problem(client.post(SET_STATE, json={"dag_run_id": "d1", "new_state": "success"}),
                   422, "task_id")


@pytest.mark.parametrize(("form", "word"), [
    ({"new_state": "running"}, "new_state"),
    ({"new_state": "success", "execution_date": "2026-01-01T00:00:00"}, "execution_date"),
])
def test_set_state_bad_values_are_400(client, runs, form, word):
    body = {"task_id": "load", **form}
    if "execution_date" not in form:
        body["dag_run_id"] = "d1"
    assert_problem(client.post(SET_STATE, json=body), 400, word)
