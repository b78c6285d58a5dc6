"""Mapped task instances: listing a mapped task's instances (paging, order, filters), one of them
by its map index (read, state, note, dependencies, tries, log, XComs), clearing one mapped
instance or all of a task's, and what the routes of unmapped task instances answer for a mapped
task."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update

from tests.api.helpers import API, assert_problem, links
from tests.support.db_state import snapshot
from tests.support.seed import EPOCH, add_dag, add_run
from windsock import DAG, logs, task
from windsock.db.engine import session
from windsock.db.models import EventLog, TaskInstance, TaskInstanceTry, XCom

DAY, MINUTE = timedelta(days=1), timedelta(minutes=1)
RUN = "r1"
TIS = f"{API}/dags/mapped/dagRuns/{RUN}/taskInstances"
LIST = f"{TIS}/transform/listMapped"
CLEAR = f"{API}/dags/mapped/clearTaskInstances"
# transform's instances in r1, by map index: (state, duration, pool, queue, executor)
INSTANCES = [("success", 4.0, "default_pool", "default", "LocalExecutor"),
             ("failed", 2.0, "big", "default", "LocalExecutor"),
             ("running", None, "default_pool", "gpu", "Other"),
             (None, None, "default_pool", "default", None)]
# the routes of one task instance: (method, path after the task id and map index, body)
ROUTES = [("GET", "", None), ("PATCH", "", {"new_state": "success"}),
          ("PATCH", "/setNote", {"note": "Checked."}), ("GET", "/dependencies", None),
          ("GET", "/tries", None), ("GET", "/tries/1", None)]


def mapped_dag() -> DAG:
    """extract >> transform, mapped over what extract returns >> load."""
    with DAG("mapped", schedule=None, start_date=EPOCH) as dag:
        @task
        def extract():
            return [1, 2, 3, 4]

        @task
        def transform(row):
            return row * 2

        @task
        def load(rows):
            return len(rows)

        load(transform.expand(row=extract()))
    dag.fileloc = "/dags/mapped.py"
    return dag


def expand(run_id: str) -> None:
    """Replace transform's stand-in instance in the run by its mapped ones (INSTANCES); the one
    with map index 3, never started, was last updated a day before the run."""
    with session() as sess:
        sess.execute(delete(TaskInstance).where(TaskInstance.run_id == run_id,
                                                TaskInstance.task_id == "transform"))
        for index, (state, duration, pool, queue, executor) in enumerate(INSTANCES):
            start = EPOCH + index * MINUTE if state else None
            sess.add(TaskInstance(
                dag_id="mapped", run_id=run_id, task_id="transform", map_index=index,
                state=state, try_number=1 if state else 0, max_tries=0, pool=pool, queue=queue,
                executor=executor, operator="PythonTask", start_date=start, duration=duration,
                end_date=start + timedelta(seconds=duration) if duration else None,
                updated_at=EPOCH - DAY if state is None else EPOCH + DAY))


@pytest.fixture
def dag(migrated):
    """Run r1 (extract succeeded, transform expanded into INSTANCES) and run r2 a day later,
    whose transform is not expanded yet (one stand-in instance)."""
    dag = mapped_dag()
    add_dag(dag)
    add_run(dag, RUN, state="running", logical_date=EPOCH, states={"extract": "success"})
    expand(RUN)
    add_run(dag, "r2", logical_date=EPOCH + DAY)
    return dag


def indexes(response) -> list[int]:
    assert response.status_code == 200, response.text
    return [ti["map_index"] for ti in response.json()["task_instances"]]


def states() -> list[str | None]:
    """The states of transform's instances in r1, by map index."""
    with session() as sess:
        return list(sess.scalars(select(TaskInstance.state).where(
            TaskInstance.run_id == RUN, TaskInstance.task_id == "transform")
            .order_by(TaskInstance.map_index)))


def set_ti(map_index: int, **fields) -> None:
    with session() as sess:
        sess.execute(update(TaskInstance).where(
            TaskInstance.run_id == RUN, TaskInstance.task_id == "transform",
            TaskInstance.map_index == map_index).values(**fields))


# --- listing ---------------------------------------------------------------------------------


def test_list_in_map_index_order(client, dag):
    response = client.get(LIST)
    assert indexes(response) == [0, 1, 2, 3]
    body = response.json()
    assert body["total_entries"] == 4
    assert body["task_instances"][1] == client.get(f"{TIS}/transform/1").json()
    assert {ti["task_id"] for ti in body["task_instances"]} == {"transform"}
    assert "link" not in response.headers


def test_list_pages_with_links(client, dag):
    response = client.get(LIST, params={"limit": 2, "offset": 1})
    assert indexes(response) == [1, 2]
    assert response.json()["total_entries"] == 4
    assert "offset=3" in links(response)["next"] and "offset=0" in links(response)["prev"]


@pytest.mark.parametrize("order_by, expected", [
    ("map_index", [0, 1, 2, 3]),
    ("-map_index", [3, 2, 1, 0]),
    ("duration", [1, 0, 2, 3]),  # NULLs last, ties by map index
    ("-duration", [3, 2, 0, 1]),
    ("state", [1, 2, 0, 3]),
    ("-start_date", [3, 2, 1, 0]),
    ("pool", [1, 0, 2, 3]),
    ("-updated_at", [2, 1, 0, 3]),
])
def test_list_order(client, dag, order_by, expected):
    assert indexes(client.get(LIST, params={"order_by": order_by})) == expected


@pytest.mark.parametrize("params, expected", [
    ({"state": "success"}, [0]),
    ({"state": ["failed", "running"]}, [1, 2]),
    ({"state": "none"}, [3]),
    ({"duration_gte": 3}, [0]),
    ({"duration_lte": 3}, [1]),
    ({"start_date_gte": (EPOCH + MINUTE).isoformat()}, [1, 2]),
    ({"start_date_lte": EPOCH.isoformat()}, [0]),
    ({"end_date_gte": (EPOCH + MINUTE).isoformat()}, [1]),
    ({"end_date_lte": (EPOCH + MINUTE).isoformat()}, [0]),
    ({"updated_at_lte": EPOCH.isoformat()}, [3]),
    ({"updated_at_gte": EPOCH.isoformat()}, [0, 1, 2]),
    ({"execution_date_gte": (EPOCH + DAY).isoformat()}, []),
    ({"execution_date_lte": EPOCH.isoformat()}, [0, 1, 2, 3]),
    ({"pool": "big"}, [1]),
    ({"queue": ["gpu", "nope"]}, [2]),
    ({"executor": "LocalExecutor", "state": "failed"}, [1]),
])
def test_list_filters(client, dag, params, expected):
    response = client.get(LIST, params=params)
    assert indexes(response) == expected
    assert response.json()["total_entries"] == len(expected)


def test_a_mapped_task_not_expanded_yet_lists_nothing(client, dag):
    response = client.get(f"{API}/dags/mapped/dagRuns/r2/taskInstances/transform/listMapped")
    assert response.json() == {"task_instances": [], "total_entries": 0}


@pytest.mark.parametrize("dag_id, run_id, task_id, words", [
    ("nope", RUN, "transform", ["DAG 'nope'"]),
    ("mapped", "nope", "transform", ["no run 'nope'"]),
    ("mapped", RUN, "nope", ["no task 'nope'"]),
    ("mapped", RUN, "extract", ["'extract'", "not mapped", "taskInstances/extract"]),
])
def test_list_of_no_mapped_task_is_404(client, dag, dag_id, run_id, task_id, words):
    url = f"{API}/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/listMapped"
    assert_problem(client.get(url), 404, *words)


@pytest.mark.parametrize("params", [{"order_by": "task_id"}, {"limit": 101},
                                    {"state": "bogus"}, {"duration_gte": "long"}])
def test_invalid_list_query_is_400(client, dag, params):
    assert_problem(client.get(LIST, params=params), 400, next(iter(params)))


# --- one mapped task instance ----------------------------------------------------------------


def test_get_by_map_index_with_etag(client, dag):
    response = client.get(f"{TIS}/transform/2")
    assert response.status_code == 200, response.text
    assert (response.json()["map_index"], response.json()["state"]) == (2, "running")
    assert client.get(f"{TIS}/transform/2",
                      headers={"If-None-Match": response.headers["etag"]}).status_code == 304
    assert client.get(f"{TIS}/transform/1").headers["etag"] != response.headers["etag"]


def test_map_index_minus_one_is_the_unmapped_instance(client, dag):
    assert client.get(f"{TIS}/extract/-1").json() == client.get(f"{TIS}/extract").json()


@pytest.mark.parametrize("method, suffix, body", ROUTES)
def test_a_map_index_without_instance_is_404(client, dag, method, suffix, body):
    response = client.request(method, f"{TIS}/transform/9{suffix}", json=body)
    assert_problem(response, 404, "'transform' with map index 9")


@pytest.mark.parametrize("method, suffix, body", ROUTES)
def test_a_map_index_below_minus_one_is_400(client, dag, method, suffix, body):
    assert_problem(client.request(method, f"{TIS}/transform/-2{suffix}", json=body), 400,
                   "map_index")


@pytest.mark.parametrize("method, suffix, body", [
    *ROUTES, ("GET", "/logs/1", None), ("GET", "/links", None),
    ("GET", "/xcomEntries/return_value", None)])
def test_unmapped_routes_point_a_mapped_task_to_its_instances(client, dag, method, suffix, body):
    response = client.request(method, f"{TIS}/transform{suffix}", json=body)
    assert_problem(response, 404, "'transform' is mapped", "/transform/{map_index}",
                   "listMapped")


def test_before_expansion_the_unmapped_route_reads_the_stand_in(client, dag):
    response = client.get(f"{API}/dags/mapped/dagRuns/r2/taskInstances/transform")
    assert (response.json()["map_index"], response.json()["state"]) == (-1, None)


def test_patch_sets_the_state_of_that_mapped_instance_only(client, dag):
    response = client.patch(f"{TIS}/transform/3", json={"new_state": "skipped"})
    assert response.status_code == 200, response.text
    assert response.json() == {"task_id": "transform", "dag_id": "mapped", "dag_run_id": RUN,
                               "execution_date": EPOCH.isoformat(), "map_index": 3}
    assert states() == ["success", "failed", "running", "skipped"]
    with session() as sess:
        event = sess.scalar(select(EventLog))
    assert (event.event, event.task_id, event.map_index) == ("patch_mapped_task_instance",
                                                             "transform", 3)


def test_patch_dry_run_changes_nothing(client, dag):
    before = snapshot()
    response = client.patch(f"{TIS}/transform/1", json={"new_state": "success", "dry_run": True})
    assert response.json()["map_index"] == 1
    assert snapshot() == before


def test_set_note_of_one_mapped_instance(client, dag):
    response = client.patch(f"{TIS}/transform/1/setNote", json={"note": "Bad row."})
    assert response.status_code == 200, response.text
    assert (response.json()["map_index"], response.json()["note"]) == (1, "Bad row.")
    assert response.headers["etag"] == client.get(f"{TIS}/transform/1").headers["etag"]
    assert [client.get(f"{TIS}/transform/{i}").json()["note"] for i in range(4)] == [
        None, "Bad row.", None, None]


@pytest.mark.parametrize("suffix, body", [("", {"new_state": "success"}),
                                          ("/setNote", {"note": "Checked."})])
def test_changes_are_guarded_by_if_match(client, dag, suffix, body):
    url = f"{TIS}/transform/3"
    etag = client.get(url).headers["etag"]
    set_ti(3, state="scheduled")
    assert_problem(client.patch(f"{url}{suffix}", json=body, headers={"If-Match": etag}), 412)
    assert client.get(url).json()["note"] is None and states()[3] == "scheduled"
    fresh = client.get(url).headers["etag"]
    assert client.patch(f"{url}{suffix}", json=body,
                        headers={"If-Match": fresh}).status_code == 200


def test_dependencies_of_mapped_instances(client, dag):
    def unmet(map_index: int) -> dict[str, str]:
        response = client.get(f"{TIS}/transform/{map_index}/dependencies")
        assert response.status_code == 200, response.text
        return {dep["name"]: dep["reason"] for dep in response.json()["dependencies"]}

    assert unmet(0) == {"Task Instance State": "Task is in the 'success' state, so it is not "
                                               "waiting to run."}
    assert unmet(3) == {}


# --- tries, logs and XComs of a mapped instance ----------------------------------------------


@pytest.fixture
def retried(dag):
    """transform's instance 1 failed on try 2 after try 1 went up for retry."""
    with session() as sess:
        sess.add(TaskInstanceTry(dag_id="mapped", run_id=RUN, task_id="transform", map_index=1,
                                 try_number=1, state="up_for_retry", pool="default_pool"))
    set_ti(1, try_number=2)
    return dag


def tries_of(client, map_index: int, **params) -> list[tuple[int, str]]:
    response = client.get(f"{TIS}/transform/{map_index}/tries", params=params)
    assert response.status_code == 200, response.text
    return [(t["try_number"], t["state"]) for t in response.json()["task_instances"]]


def test_each_mapped_instance_has_its_own_tries(client, retried):
    assert tries_of(client, 1) == [(1, "up_for_retry"), (2, "failed")]
    assert tries_of(client, 1, order_by="-try_number", limit=1) == [(2, "failed")]
    assert tries_of(client, 0) == [(1, "success")]
    assert tries_of(client, 3) == []


def test_one_try_of_a_mapped_instance(client, retried):
    first = client.get(f"{TIS}/transform/1/tries/1")
    assert first.status_code == 200, first.text
    assert (first.json()["map_index"], first.json()["state"]) == (1, "up_for_retry")
    assert client.get(f"{TIS}/transform/1/tries/2").json() == client.get(
        f"{TIS}/transform/1").json()
    assert_problem(client.get(f"{TIS}/transform/1/tries/3"), 404, "(map index 1)", "no try 3")


@pytest.mark.parametrize("map_index, content", [(2, "row 3 done\n"), (0, "")])
def test_log_of_a_mapped_instance(client, dag, tmp_path, monkeypatch, map_index, content):
    monkeypatch.setenv("WINDSOCK__LOGGING__BASE_LOG_FOLDER", str(tmp_path))
    path = logs.log_path("mapped", RUN, "transform", 1, 2)
    assert path.parent.name == "map_index=2"
    path.parent.mkdir(parents=True)
    path.write_text("row 3 done\n")
    response = client.get(f"{TIS}/transform/logs/1", params={"map_index": map_index})
    assert response.status_code == 200, response.text
    assert response.json()["content"] == content


def test_xcoms_of_mapped_instances(client, dag):
    with session() as sess:
        sess.add_all(XCom(dag_id="mapped", run_id=RUN, task_id="transform", map_index=i,
                          key="return_value", value=json.dumps(2 * (i + 1))) for i in (0, 1))
    url = f"{TIS}/transform/xcomEntries"
    entries = client.get(url).json()["xcom_entries"]
    assert [entry["map_index"] for entry in entries] == [0, 1]
    only = client.get(url, params={"map_index": 1}).json()
    assert [entry["map_index"] for entry in only["xcom_entries"]] == [1]
    value = client.get(f"{url}/return_value", params={"map_index": 1, "stringify": False})
    assert (value.json()["map_index"], value.json()["value"]) == (1, 4)


# --- clearing --------------------------------------------------------------------------------


def cleared(response) -> list[tuple[str, str, int]]:
    """(run id, task id, map index) of each task instance a clear answers."""
    assert response.status_code == 200, response.text
    return [(ti["dag_run_id"], ti["task_id"], ti["map_index"])
            for ti in response.json()["task_instances"]]


@pytest.mark.parametrize("form, expected", [
    ({"task_ids": [["transform", 1]]}, [(RUN, "transform", 1)]),
    ({"task_ids": [["transform", 1], ["transform", 2], ["transform", 9]]},
     [(RUN, "transform", 1), (RUN, "transform", 2)]),
    ({"task_ids": ["transform"]}, [(RUN, "transform", i) for i in range(4)]
     + [("r2", "transform", -1)]),
    ({"task_ids": ["transform"], "dag_run_id": RUN},
     [(RUN, "transform", i) for i in range(4)]),
    ({"task_ids": [["transform", 1]], "include_downstream": True, "dag_run_id": RUN},
     [(RUN, "load", -1), (RUN, "transform", 1)]),
    ({"task_ids": [["transform", 0]], "include_upstream": True, "dag_run_id": RUN},
     [(RUN, "extract", -1), (RUN, "transform", 0)]),
    ({"task_ids": ["extract", ["transform", 0]], "include_downstream": True, "dag_run_id": RUN},
     [(RUN, "extract", -1), (RUN, "load", -1), *((RUN, "transform", i) for i in range(4))]),
    ({"task_ids": [["transform", 0], ["load", 0]]}, [(RUN, "transform", 0)]),
])
def test_clear_selects_mapped_instances(client, dag, form, expected):
    before = snapshot()
    assert cleared(client.post(CLEAR, json={**form, "only_failed": False})) == expected
    assert snapshot() == before


def test_clearing_one_mapped_instance_reruns_only_it(client, dag):
    response = client.post(CLEAR, json={"dry_run": False, "task_ids": [["transform", 1]]})
    assert cleared(response) == [(RUN, "transform", 1)]
    assert states() == ["success", None, "running", None]
    with session() as sess:
        kept = sess.execute(select(TaskInstanceTry.map_index, TaskInstanceTry.state)).all()
    assert kept == [(1, "failed")]


def test_clearing_a_mapped_task_by_id_clears_each_instance(client, dag):
    response = client.post(CLEAR, json={"dry_run": False, "task_ids": ["transform"],
                                        "only_failed": False, "dag_run_id": RUN})
    assert cleared(response) == [(RUN, "transform", i) for i in range(4)]
    assert states() == [None, None, "restarting", None]


@pytest.mark.parametrize("item, status, words", [
    ([1, "transform"], 400, ["'task_ids[0]'", "[task_id, map_index]"]),
    (["transform", "1"], 400, ["'task_ids[0]'"]),
    (["transform", True], 400, ["'task_ids[0]'"]),
    (["", 1], 400, ["'task_ids[0]'"]),
    (["transform", -1], 400, ["'task_ids[0]'"]),
    (["transform"], 400, ["task_ids"]),
    (["transform", 1, 2], 400, ["task_ids"]),
    (["nope", 0], 422, ["no task 'nope'"]),
])
def test_a_bad_pair_is_a_problem(client, dag, item, status, words):
    assert_problem(client.post(CLEAR, json={"task_ids": [item]}), status, *words)
