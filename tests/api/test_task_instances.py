"""Task instances: listing (per run, across runs and DAGs, by form), reading, marking, notes,
what holds one back, and its tries."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from tests.api.helpers import API, assert_problem, links
from tests.support.db_state import snapshot, task_states
from tests.support.seed import EPOCH, add_dag, add_run, sample_dag
from windsock.db.engine import session
from windsock.db.models import Dag, EventLog, Pool, TaskInstance, TaskInstanceTry

DAY = timedelta(days=1)
TASKS = ["extract", "load", "report", "transform"]  # the primary key order within a run
R2 = [("r2", task_id) for task_id in TASKS]


def tis_url(dag_id: str = "sample", run_id: str = "r1") -> str:
    return f"{API}/dags/{dag_id}/dagRuns/{run_id}/taskInstances"


def ti_url(task_id: str, run_id: str = "r1", dag_id: str = "sample") -> str:
    return f"{tis_url(dag_id, run_id)}/{task_id}"


BATCH = f"{API}/dags/~/dagRuns/~/taskInstances/list"


def keys(response) -> list[tuple[str, str, str]]:
    assert response.status_code == 200, response.text
    return [(ti["dag_id"], ti["dag_run_id"], ti["task_id"])
            for ti in response.json()["task_instances"]]


def task_ids(response) -> list[str]:
    return [task_id for _, _, task_id in keys(response)]


def set_ti(run_id: str, task_id: str, dag_id: str = "sample", **fields) -> None:
    with session() as sess:
        sess.execute(update(TaskInstance).where(
            TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id,
            TaskInstance.task_id == task_id).values(**fields))


def add_try(run_id: str, task_id: str, try_number: int, state: str, dag_id: str = "sample",
            **fields) -> None:
    with session() as sess:
        sess.add(TaskInstanceTry(dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=-1,
                                 try_number=try_number, state=state, pool="default_pool",
                                 **fields))


@pytest.fixture
def dag(migrated):
    dag = sample_dag()
    add_dag(dag)
    return dag


@pytest.fixture
def runs(dag):
    """sample: r1 (day 0, running: extract succeeded, transform running, the rest undecided),
    r2 (day 1, failed: extract failed, the rest upstream_failed; each ran 5 s on try 1);
    other: o1 (day 5, queued, nothing decided)."""
    add_run(dag, "r1", state="running", logical_date=EPOCH,
            states={"extract": "success", "transform": "running"})
    add_run(dag, "r2", state="failed", logical_date=EPOCH + DAY, start=EPOCH + DAY,
            states={"extract": "failed", "transform": "upstream_failed",
                    "load": "upstream_failed", "report": "upstream_failed"})
    other = sample_dag("other")
    add_dag(other)
    add_run(other, "o1", logical_date=EPOCH + 5 * DAY)
    return dag


# --- listing ---------------------------------------------------------------------------------


def test_list_of_one_run(client, runs):
    response = client.get(tis_url())
    assert task_ids(response) == TASKS
    body = response.json()
    assert body["total_entries"] == 4
    extract = body["task_instances"][0]
    assert extract == client.get(ti_url("extract")).json()
    assert extract["execution_date"] == EPOCH.isoformat()
    assert extract["state"] == "success"
    assert extract["try_number"] == 1
    assert extract["duration"] == 5.0
    assert extract["start_date"] == EPOCH.isoformat()
    assert extract["operator"] == "PythonTask"
    assert "link" not in response.headers


@pytest.mark.parametrize("dag_id, run_id, expected", [
    ("sample", "~", {("sample", "r1"), ("sample", "r2")}),
    ("~", "~", {("sample", "r1"), ("sample", "r2"), ("other", "o1")}),
    ("~", "o1", {("other", "o1")}),
    ("other", "~", {("other", "o1")}),
])
def test_wildcards(client, runs, dag_id, run_id, expected):
    response = client.get(tis_url(dag_id, run_id))
    found = keys(response)
    assert {(d, r) for d, r, _ in found} == expected
    assert len(found) == 4 * len(expected) == response.json()["total_entries"]


@pytest.mark.parametrize("dag_id, run_id, words", [
    ("nope", "r1", ["DAG", "nope"]),
    ("nope", "~", ["DAG", "nope"]),
    ("sample", "nope", ["sample", "no run", "nope"]),
    ("sample", "o1", ["sample", "no run", "o1"]),
    ("~", "nope", ["No DAG", "nope"]),
])
def test_unknown_dag_or_run_is_404(client, runs, dag_id, run_id, words):
    assert_problem(client.get(tis_url(dag_id, run_id)), 404, *words)


def test_empty_dag_lists_nothing(client, dag):
    response = client.get(tis_url("sample", "~"))
    assert response.json() == {"task_instances": [], "total_entries": 0}


@pytest.mark.parametrize("params, expected", [
    ({"state": "success"}, [("r1", "extract")]),
    ({"state": ["failed", "running"]}, [("r1", "transform"), ("r2", "extract")]),
    ({"state": "none"}, [("r1", "load"), ("r1", "report")]),
    ({"state": ["none", "success"]}, [("r1", "extract"), ("r1", "load"), ("r1", "report")]),
    ({"state": "upstream_failed"}, [("r2", "load"), ("r2", "report"), ("r2", "transform")]),
    ({"execution_date_gte": (EPOCH + DAY).isoformat(), "state": "failed"}, [("r2", "extract")]),
    ({"execution_date_lte": EPOCH.isoformat(), "state": "success"}, [("r1", "extract")]),
    ({"execution_date_gte": (EPOCH + 2 * DAY).isoformat()}, []),
    ({"start_date_gte": (EPOCH + DAY).isoformat()}, R2),
    ({"start_date_lte": EPOCH.isoformat()}, [("r1", "extract"), ("r1", "transform")]),
    ({"end_date_gte": EPOCH.isoformat()}, [("r1", "extract"), *R2]),
    ({"end_date_lte": (EPOCH + timedelta(seconds=5)).isoformat()}, [("r1", "extract")]),
    ({"duration_gte": 5}, [("r1", "extract"), *R2]),
    ({"duration_gte": 5.5}, []),
    ({"duration_lte": 5, "execution_date_gte": (EPOCH + DAY).isoformat()}, R2),
])
def test_filters(client, runs, params, expected):
    response = client.get(tis_url("sample", "~"), params=params)
    assert sorted((r, t) for _, r, t in keys(response)) == expected
    assert response.json()["total_entries"] == len(expected)


def test_filter_by_pool_queue_and_executor(client, runs):
    set_ti("r1", "load", pool="warehouse", queue="big", executor="LocalExecutor")
    set_ti("r2", "load", pool="warehouse", executor="Other")
    url = tis_url("sample", "~")
    assert keys(client.get(url, params={"pool": "warehouse"})) == [
        ("sample", "r1", "load"), ("sample", "r2", "load")]
    assert len(keys(client.get(url, params={"pool": ["warehouse", "default_pool"]}))) == 8
    assert keys(client.get(url, params={"queue": "big"})) == [("sample", "r1", "load")]
    assert keys(client.get(url, params={"executor": ["Other", "Nope"]})) == [
        ("sample", "r2", "load")]
    assert keys(client.get(url, params={"pool": "warehouse", "queue": "big"})) == [
        ("sample", "r1", "load")]


def test_filter_by_updated_at(client, runs):
    set_ti("r2", "report", updated_at=EPOCH - DAY)
    url = tis_url("sample", "~")
    assert keys(client.get(url, params={"updated_at_lte": EPOCH.isoformat()})) == [
        ("sample", "r2", "report")]
    assert len(keys(client.get(url, params={"updated_at_gte": EPOCH.isoformat()}))) == 7


@pytest.mark.parametrize("name", ["execution_date_gte", "start_date_lte", "end_date_gte",
                                  "updated_at_lte"])
def test_naive_datetime_filter_is_400(client, runs, name):
    assert_problem(client.get(tis_url(), params={name: "2026-01-01T00:00:00"}), 400, name)


@pytest.mark.parametrize("params", [{"state": "bogus"}, {"duration_gte": "long"},
                                    {"order_by": "hostname"}, {"pool": "a b"}])
def test_invalid_filters_are_400(client, runs, params):
    assert_problem(client.get(tis_url(), params=params), 400, next(iter(params)))


@pytest.mark.parametrize("order_by, expected", [
    ("task_id", ["extract", "load", "report", "transform"]),
    ("-task_id", ["transform", "report", "load", "extract"]),
    ("state", ["transform", "extract", "load", "report"]),  # NULLs last, ties by key
    ("-state", ["report", "load", "extract", "transform"]),
    ("try_number", ["load", "report", "extract", "transform"]),
    ("-end_date", ["transform", "report", "load", "extract"]),
    ("priority_weight", TASKS),
    ("-dag_id", list(reversed(TASKS))),
])
def test_order_by(client, runs, order_by, expected):
    assert task_ids(client.get(tis_url(), params={"order_by": order_by})) == expected


def test_order_across_runs_and_dags(client, runs):
    set_ti("r2", "extract", duration=1.0)
    url = tis_url("~", "~")
    found = keys(client.get(url, params={"order_by": "duration"}))
    assert found[:2] == [("sample", "r2", "extract"), ("sample", "r1", "extract")]
    assert [k[:2] for k in keys(client.get(url, params={"order_by": "-dag_run_id"}))][::4] == [
        ("sample", "r2"), ("sample", "r1"), ("other", "o1")]
    assert [k[0] for k in keys(client.get(url))][::4] == ["other", "sample", "sample"]


def test_paging_and_links(client, runs):
    url = tis_url("sample", "~")
    first = client.get(url, params={"limit": 3})
    assert task_ids(first) == TASKS[:3]
    assert first.json()["total_entries"] == 8
    assert "offset=3" in links(first)["next"]
    last = client.get(url, params={"limit": 3, "offset": 6})
    assert len(keys(last)) == 2
    assert set(links(last)) == {"prev"}


def test_limit_above_maximum_is_400(client, runs):
    assert_problem(client.get(tis_url(), params={"limit": 101}), 400, "100")


# --- the batch form --------------------------------------------------------------------------


@pytest.mark.parametrize("body, expected", [
    ({}, 12),
    ({"dag_ids": ["other"]}, 4),
    ({"dag_ids": ["sample", "other"], "dag_run_ids": ["r2", "o1"]}, 8),
    ({"task_ids": ["extract", "load"]}, 6),
    ({"dag_ids": [], "task_ids": []}, 12),
    ({"state": ["none"]}, 6),
    ({"state": ["upstream_failed"], "task_ids": ["load"]}, 1),
    ({"execution_date_gte": (EPOCH + DAY).isoformat(),
      "execution_date_lte": (EPOCH + 2 * DAY).isoformat()}, 4),
    ({"start_date_gte": EPOCH.isoformat(), "end_date_lte": EPOCH.isoformat()}, 0),
    ({"duration_gte": 5, "duration_lte": 5}, 5),
    ({"pool": ["default_pool"], "queue": ["default"]}, 12),
    ({"executor": ["LocalExecutor"]}, 0),
])
def test_batch_filters(client, runs, body, expected):
    response = client.post(BATCH, json=body)
    assert len(keys(response)) == expected == response.json()["total_entries"]


def test_batch_pages_and_orders_without_links(client, runs):
    body = {"dag_ids": ["sample"], "order_by": "-task_id", "page_limit": 3, "page_offset": 1}
    response = client.post(BATCH, json=body)
    assert keys(response) == [("sample", "r1", "transform"), ("sample", "r2", "report"),
                              ("sample", "r1", "report")]
    assert response.json()["total_entries"] == 8
    assert "link" not in response.headers


def test_batch_changes_nothing_and_is_not_audited(client, runs):
    before = snapshot()
    assert client.post(BATCH, json={}).status_code == 200
    assert snapshot() == before
    with session() as sess:
        assert sess.scalars(select(EventLog.event)).all() == []


@pytest.mark.parametrize("body, status, word", [
    ({"page_limit": 101}, 400, "100"),
    ({"start_date_gte": "2026-01-01T00:00:00"}, 400, "start_date_gte"),
    ({"order_by": "hostname"}, 400, "hostname"),
    ({"state": ["bogus"]}, 400, "bogus"),
    ({"colour": "red"}, 400, "colour"),
])
def test_batch_bad_form_is_problem(client, runs, body, status, word):
    assert_problem(client.post(BATCH, json=body), status, word)


# --- one task instance -----------------------------------------------------------------------


def test_get_with_etag_and_304(client, runs):
    response = client.get(ti_url("transform"))
    assert response.status_code == 200
    assert response.json()["state"] == "running"
    etag = response.headers["etag"]
    again = client.get(ti_url("transform"), headers={"If-None-Match": etag})
    assert again.status_code == 304
    set_ti("r1", "transform", state="success")
    assert client.get(ti_url("transform"), headers={"If-None-Match": etag}).status_code == 200


@pytest.mark.parametrize("url, words", [
    (ti_url("extract", dag_id="nope"), ["DAG", "nope"]),
    (ti_url("extract", run_id="nope"), ["no run", "nope"]),
    (ti_url("nope"), ["no task instance", "nope"]),
    (ti_url("extract", run_id="o1"), ["no run", "o1"]),
    (ti_url("~"), ["no task instance", "~"]),
    (f"{API}/dags/~/dagRuns/~/taskInstances/extract", ["DAG", "~"]),
])
def test_get_unknown_is_404(client, runs, url, words):
    assert_problem(client.get(url), 404, *words)


def test_patch_sets_the_state_of_that_instance_only(client, runs):
    response = client.patch(ti_url("transform"), json={"new_state": "success"})
    assert response.status_code == 200, response.text
    assert response.json() == {"task_id": "transform", "dag_id": "sample", "dag_run_id": "r1",
                               "execution_date": EPOCH.isoformat(), "map_index": -1}
    assert task_states("sample", "r1") == {"extract": "success", "transform": "success",
                                           "load": None, "report": None}
    ti = client.get(ti_url("transform")).json()
    assert ti["end_date"] is not None and ti["duration"] is not None
    with session() as sess:
        event = sess.scalar(select(EventLog))
    assert (event.event, event.dag_id, event.run_id, event.task_id) == (
        "patch_task_instance", "sample", "r1", "transform")
    assert json.loads(event.extra)["body"] == {"new_state": "success"}


def test_patch_dry_run_changes_nothing(client, runs):
    before = snapshot()
    response = client.patch(ti_url("load"), json={"new_state": "failed", "dry_run": True})
    assert response.status_code == 200
    assert response.json()["task_id"] == "load"
    assert snapshot() == before


def test_patch_guarded_by_if_match(client, runs):
    etag = client.get(ti_url("load")).headers["etag"]
    set_ti("r1", "load", state="scheduled")
    assert_problem(client.patch(ti_url("load"), json={"new_state": "skipped"},
                                headers={"If-Match": etag}), 412)
    assert task_states("sample", "r1")["load"] == "scheduled"
    fresh = client.get(ti_url("load")).headers["etag"]
    response = client.patch(ti_url("load"), json={"new_state": "skipped"},
                            headers={"If-Match": fresh})
    assert response.status_code == 200
    assert task_states("sample", "r1")["load"] == "skipped"


@pytest.mark.parametrize("body, status, word", [
    ({"new_state": "running"}, 400, "new_state"),
    ({}, 422, "new_state"),
    ({"new_state": "success", "note": "x"}, 400, "note"),
    ({"new_state": "success", "dry_run": "yes"}, 400, "dry_run"),
])
def test_patch_bad_body_is_problem(client, runs, body, status, word):
    assert_problem(client.patch(ti_url("load"), json=body), status, word)


def test_patch_unknown_is_404(client, runs):
    assert_problem(client.patch(ti_url("nope"), json={"new_state": "success"}), 404, "nope")


def test_set_note_and_remove_it(client, runs):
    response = client.patch(f"{ti_url('load')}/setNote", json={"note": "Waiting on data."})
    assert response.status_code == 200, response.text
    assert response.json()["note"] == "Waiting on data."
    assert response.headers["etag"] == client.get(ti_url("load")).headers["etag"]
    assert client.get(ti_url("load")).json()["note"] == "Waiting on data."
    response = client.patch(f"{ti_url('load')}/setNote", json={"note": None})
    assert response.json()["note"] is None


def test_set_note_guarded_by_if_match(client, runs):
    url = f"{ti_url('load')}/setNote"
    etag = client.get(ti_url("load")).headers["etag"]
    assert client.patch(url, json={"note": "one"}, headers={"If-Match": etag}).status_code == 200
    assert_problem(client.patch(url, json={"note": "two"}, headers={"If-Match": etag}), 412)
    assert client.get(ti_url("load")).json()["note"] == "one"


@pytest.mark.parametrize("body, status, word", [
    ({"note": "a\x00b"}, 400, "NUL"),
    ({}, 422, "note"),
    ({"note": "x" * 1001}, 400, "note"),
])
def test_set_note_bad_body_is_problem(client, runs, body, status, word):
    assert_problem(client.patch(f"{ti_url('load')}/setNote", json=body), status, word)


def test_set_note_unknown_is_404(client, runs):
    assert_problem(client.patch(f"{ti_url('load', run_id='nope')}/setNote",
                                json={"note": "x"}), 404, "nope")


# --- dependencies ----------------------------------------------------------------------------


def dependencies(client, task_id: str, run_id: str = "r1") -> dict[str, str]:
    response = client.get(f"{ti_url(task_id, run_id)}/dependencies")
    assert response.status_code == 200, response.text
    return {dep["name"]: dep["reason"] for dep in response.json()["dependencies"]}


def test_nothing_holds_back_a_ready_instance(client, runs):
    assert dependencies(client, "transform", "r1") == {
        "Task Instance State": "Task is in the 'running' state, so it is not waiting to run."}
    set_ti("r1", "transform", state="success")
    assert dependencies(client, "load") == {}
    assert dependencies(client, "report") == {}


def test_upstream_not_done_breaks_the_trigger_rule(client, runs):
    reason = dependencies(client, "load")["Trigger Rule"]
    assert "'all_success'" in reason and "1 not finished" in reason


def test_a_finished_instance_is_held_back_by_its_state(client, runs):
    assert dependencies(client, "extract") == {
        "Task Instance State": "Task is in the 'success' state, so it is not waiting to run."}


def test_run_paused_dag_and_failed_upstream(client, runs, dag):
    add_run(dag, "r3", state="queued", logical_date=EPOCH + 3 * DAY,
            states={"extract": "failed"})
    with session() as sess:
        sess.execute(update(Dag)
                     .values(is_paused=True))
    found = dependencies(client, "transform", "r3")
    assert found["Dag Not Paused"] == "Task's DAG 'sample' is paused."
    assert "'queued'" in found["Dagrun Running"]
    assert "1 failed" in found["Trigger Rule"]
    assert set(found) == {"Dag Not Paused", "Dagrun Running", "Trigger Rule"}


def test_full_and_missing_pools(client, runs):
    set_ti("r1", "transform", state="success")
    with session() as sess:
        sess.add(Pool(pool="tiny", slots=1, include_deferred=False))
    set_ti("r1", "load", pool="tiny")
    set_ti("r2", "load", pool="tiny", state="running")
    assert "0 open slots in pool 'tiny'" in dependencies(client, "load")["Pool Slots Available"]
    set_ti("r1", "load", pool="gone")
    assert "'gone'" in dependencies(client, "load")["Pool Slots Available"]


def test_dag_task_limit_and_retry_period(client, runs):
    set_ti("r1", "transform", state="success")
    set_ti("r1", "load", state="up_for_retry", try_number=1,
           end_date=datetime.now(timezone.utc))
    with session() as sess:
        sess.execute(update(Dag)
                     .values(max_active_tasks=1))
    set_ti("r2", "extract", state="running")
    found = dependencies(client, "load")
    assert "will be retried at" in found["Not In Retry Period"]
    assert "(1)" in found["Task Instance Slots Available"]
    assert set(found) == {"Not In Retry Period", "Task Instance Slots Available"}


def test_a_task_gone_from_the_dag(client, runs):
    with session() as sess:
        sess.add(TaskInstance(dag_id="sample", run_id="r1", task_id="old", map_index=-1,
                              pool="default_pool"))
    set_ti("r1", "transform", state="success")
    assert dependencies(client, "old") == {"Task In DAG": "DAG 'sample' no longer has a task "
                                                          "'old'."}


def test_dependencies_of_unknown_is_404(client, runs):
    assert_problem(client.get(f"{ti_url('nope')}/dependencies"), 404, "nope")


# --- tries -----------------------------------------------------------------------------------


def tries_of(client, task_id: str, run_id: str = "r1", **params) -> list[tuple[int, str]]:
    response = client.get(f"{ti_url(task_id, run_id)}/tries", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total_entries"] >= len(body["task_instances"])
    return [(t["try_number"], t["state"]) for t in body["task_instances"]]


def test_tries_of_instances_that_never_ran_and_ran_once(client, runs):
    assert tries_of(client, "load") == []
    assert tries_of(client, "extract") == [(1, "success")]


def test_tries_after_a_clear_and_a_retry(client, runs):
    # Try 1 failed and was cleared (kept in the history); try 2 runs now.
    add_try("r1", "transform", 1, "failed", hostname="worker-1")
    set_ti("r1", "transform", try_number=2, hostname="worker-2")
    assert tries_of(client, "transform") == [(1, "failed"), (2, "running")]
    assert tries_of(client, "transform", order_by="-try_number") == [(2, "running"),
                                                                     (1, "failed")]
    first = client.get(f"{ti_url('transform')}/tries/1")
    assert first.status_code == 200
    assert (first.json()["state"], first.json()["hostname"]) == ("failed", "worker-1")
    assert first.json()["execution_date"] == EPOCH.isoformat()
    second = client.get(f"{ti_url('transform')}/tries/2").json()
    assert second == client.get(ti_url("transform")).json()


def test_a_cleared_instance_keeps_its_last_try_once(client, runs):
    # Cleared after try 1 failed: the instance waits with try_number 1 and no state.
    add_try("r1", "transform", 1, "failed")
    set_ti("r1", "transform", state=None)
    assert tries_of(client, "transform") == [(1, "failed")]
    assert client.get(f"{ti_url('transform')}/tries/1").json()["state"] == "failed"


def test_tries_are_paged_and_ordered(client, runs):
    for n, state in enumerate(["failed", "up_for_retry", "failed"], start=1):
        add_try("r1", "transform", n, state, duration=10.0 - n)
    set_ti("r1", "transform", try_number=4, duration=None)
    assert tries_of(client, "transform", limit=2, offset=1) == [(2, "up_for_retry"),
                                                                (3, "failed")]
    assert [n for n, _ in tries_of(client, "transform", order_by="duration")] == [3, 2, 1, 4]
    assert [n for n, _ in tries_of(client, "transform", order_by="state")] == [1, 3, 4, 2]
    response = client.get(f"{ti_url('transform')}/tries", params={"limit": 2})
    assert response.json()["total_entries"] == 4
    assert "offset=2" in links(response)["next"]


def test_try_details_etag(client, runs):
    url = f"{ti_url('extract')}/tries/1"
    etag = client.get(url).headers["etag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304


@pytest.mark.parametrize("task_id, try_number, status", [
    ("extract", 2, 404), ("load", 1, 404), ("nope", 1, 404), ("extract", 0, 400)])
def test_try_that_does_not_exist(client, runs, task_id, try_number, status):
    assert_problem(client.get(f"{ti_url(task_id)}/tries/{try_number}"), status)


@pytest.mark.parametrize("params, word", [({"order_by": "pool"}, "order_by"),
                                          ({"limit": 101}, "100")])
def test_bad_tries_query_is_400(client, runs, params, word):
    assert_problem(client.get(f"{ti_url('extract')}/tries", params=params), 400, word)


def test_tries_of_unknown_is_404(client, runs):
    assert_problem(client.get(f"{ti_url('extract', dag_id='nope')}/tries"), 404, "nope")
