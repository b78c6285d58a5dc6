"""XCom entries: listing (with `~` for DAG, run and task), filters, the fixed order, and reading
one entry with its value rendered by `stringify`."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from windsock.db.engine import session
from windsock.runs.returns import return_values

from tests.api.accounts import API_ACCESS, PASSWORD, create_role, create_user, fresh_name
from tests.api.helpers import API, assert_problem, links
from tests.support.seed import EPOCH, add_dag, add_run, add_xcom, sample_dag

DAY = timedelta(days=1)


def entries_url(dag_id: str = "sample", run_id: str = "r1", task_id: str = "extract") -> str:
    return f"{API}/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries"


def entry_url(key: str, dag_id: str = "sample", run_id: str = "r1",
              task_id: str = "extract") -> str:
    return f"{entries_url(dag_id, run_id, task_id)}/{key}"


def keys(response) -> list[tuple[str, str, str, str]]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total_entries"] >= len(body["xcom_entries"])
    return [(x["dag_id"], x["run_id"], x["task_id"], x["key"]) for x in body["xcom_entries"]]


@pytest.fixture
def xcoms(migrated):
    """sample r1 (day 0): extract -> return_value, rows; transform -> return_value.
    sample r2 (day 1): extract -> return_value. other o1: extract -> return_value."""
    dag = sample_dag()
    add_dag(dag)
    other = sample_dag("other")
    add_dag(other)
    add_run(dag, "r1", logical_date=EPOCH)
    add_run(dag, "r2", logical_date=EPOCH + DAY)
    add_run(other, "o1", logical_date=EPOCH + 2 * DAY)
    add_xcom("sample", "r1", "extract", "rows", {"rows": 1204, "tables": ["a", "b"]})
    add_xcom("sample", "r1", "extract", "return_value", [1, 2, 3])
    add_xcom("sample", "r1", "transform", "return_value", [2, 4, 6])
    add_xcom("sample", "r2", "extract", "return_value", None)
    add_xcom("other", "o1", "extract", "return_value", "done")


# --- listing ---------------------------------------------------------------------------------


def test_list_of_one_task_instance(client, xcoms):
    response = client.get(entries_url())
    assert keys(response) == [("sample", "r1", "extract", "return_value"),
                              ("sample", "r1", "extract", "rows")]
    item = response.json()["xcom_entries"][0]
    assert set(item) == {"key", "timestamp", "execution_date", "map_index", "task_id",
                         "dag_id", "run_id"}
    assert item["execution_date"] == EPOCH.isoformat()
    assert item["map_index"] == -1
    assert item["timestamp"].endswith("+00:00")


@pytest.mark.parametrize("dag_id, run_id, task_id, expected", [
    ("sample", "r1", "~", [("sample", "r1", "extract", "return_value"),
                           ("sample", "r1", "extract", "rows"),
                           ("sample", "r1", "transform", "return_value")]),
    ("sample", "~", "extract", [("sample", "r1", "extract", "return_value"),
                                ("sample", "r1", "extract", "rows"),
                                ("sample", "r2", "extract", "return_value")]),
    ("~", "~", "extract", [("other", "o1", "extract", "return_value"),
                           ("sample", "r1", "extract", "return_value"),
                           ("sample", "r1", "extract", "rows"),
                           ("sample", "r2", "extract", "return_value")]),
    ("~", "r2", "~", [("sample", "r2", "extract", "return_value")]),
    ("~", "~", "~", [("other", "o1", "extract", "return_value"),
                     ("sample", "r1", "extract", "return_value"),
                     ("sample", "r1", "extract", "rows"),
                     ("sample", "r1", "transform", "return_value"),
                     ("sample", "r2", "extract", "return_value")]),
])
def test_wildcards_and_the_fixed_order(client, xcoms, dag_id, run_id, task_id, expected):
    # Ordered by DAG, run, task, map index and key ("return_value" < "rows").
    response = client.get(entries_url(dag_id, run_id, task_id))
    assert keys(response) == expected
    assert response.json()["total_entries"] == len(expected)


@pytest.mark.parametrize("params, expected", [
    ({"xcom_key": "rows"}, [("sample", "r1", "extract", "rows")]),
    ({"xcom_key": "nope"}, []),
    ({"map_index": -1}, [("sample", "r1", "extract", "return_value"),
                         ("sample", "r1", "extract", "rows"),
                         ("sample", "r2", "extract", "return_value")]),
    ({"map_index": 0}, []),
    ({"map_index": -1, "xcom_key": "return_value"}, [("sample", "r1", "extract", "return_value"),
                                                     ("sample", "r2", "extract",
                                                      "return_value")]),
])
def test_filters(client, xcoms, params, expected):
    assert keys(client.get(entries_url("sample", "~", "extract"), params=params)) == expected


def test_paging_and_links(client, xcoms):
    url = entries_url("~", "~", "~")
    page = client.get(url, params={"limit": 2, "offset": 2})
    assert keys(page) == [("sample", "r1", "extract", "rows"),
                          ("sample", "r1", "transform", "return_value")]
    assert page.json()["total_entries"] == 5
    assert set(links(page)) == {"next", "prev"}
    assert_problem(client.get(url, params={"limit": 101}), 400, "100")


def test_a_task_instance_without_entries_lists_nothing(client, xcoms):
    assert keys(client.get(entries_url(task_id="load"))) == []


@pytest.mark.parametrize("dag_id, run_id, task_id, words", [
    ("nope", "r1", "extract", ["DAG", "nope"]),
    ("sample", "nope", "extract", ["no run", "nope"]),
    ("sample", "o1", "~", ["no run", "o1"]),
    ("~", "nope", "~", ["No DAG", "nope"]),
    ("sample", "r1", "nope", ["Task 'nope'", "run 'r1' of DAG 'sample'"]),
    ("sample", "~", "nope", ["Task 'nope'", "DAG 'sample'"]),
    ("~", "r1", "nope", ["Task 'nope'", "run 'r1'"]),
    ("~", "~", "nope", ["Task 'nope'", "any DAG"]),
])
def test_unknown_dag_run_or_task_is_404(client, xcoms, dag_id, run_id, task_id, words):
    assert_problem(client.get(entries_url(dag_id, run_id, task_id)), 404, *words)


@pytest.mark.parametrize("params", [{"map_index": -2}, {"xcom_key": ""}, {"limit": 0}])
def test_invalid_list_query_is_400(client, xcoms, params):
    assert_problem(client.get(entries_url(), params=params), 400, next(iter(params)))


# --- one entry -------------------------------------------------------------------------------


@pytest.mark.parametrize("run_id, task_id, key, stringified, value", [
    ("r1", "extract", "rows", "{'rows': 1204, 'tables': ['a', 'b']}",
     {"rows": 1204, "tables": ["a", "b"]}),
    ("r1", "extract", "return_value", "[1, 2, 3]", [1, 2, 3]),
    ("r2", "extract", "return_value", "None", None),
])
def test_value_as_python_renders_it_or_as_json(client, xcoms, run_id, task_id, key,
                                               stringified, value):
    url = entry_url(key, run_id=run_id, task_id=task_id)
    default = client.get(url)
    assert default.status_code == 200, default.text
    assert default.json()["value"] == stringified
    assert client.get(url, params={"stringify": "true"}).json()["value"] == stringified
    assert client.get(url, params={"stringify": "false"}).json()["value"] == value
    assert client.get(url, params={"stringify": "false", "deserialize": "true"}).json()[
        "value"] == value
    assert client.get(url, params={"deserialize": "true"}).json()["value"] == stringified


def test_entry_fields(client, xcoms):
    body = client.get(entry_url("return_value", "other", "o1")).json()
    assert {k: v for k, v in body.items() if k != "timestamp"} == {
        "key": "return_value", "execution_date": (EPOCH + 2 * DAY).isoformat(),
        "map_index": -1, "task_id": "extract", "dag_id": "other", "run_id": "o1",
        "value": "done"}
    assert client.get(entry_url("return_value", "other", "o1"),
                      params={"stringify": False}).json()["value"] == "done"


def test_entry_etag_and_304(client, xcoms):
    url = entry_url("rows")
    response = client.get(url)
    etag = response.headers["etag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    # Another rendering is another representation, with another ETag.
    assert client.get(url, params={"stringify": False}).headers["etag"] != etag


@pytest.mark.parametrize("url, params, words", [
    (entry_url("nope"), {}, ["no XCom entry", "nope"]),
    (entry_url("rows", task_id="load"), {}, ["no XCom entry", "rows"]),
    (entry_url("rows", task_id="nope"), {}, ["no task instance", "nope"]),
    (entry_url("rows", run_id="nope"), {}, ["no run", "nope"]),
    (entry_url("rows", dag_id="nope"), {}, ["DAG", "nope"]),
    (entry_url("rows"), {"map_index": 0}, ["map index 0"]),
    (entry_url("rows", "~", "~", "~"), {}, ["DAG", "~"]),
])
def test_unknown_entry_is_404(client, xcoms, url, params, words):
    assert_problem(client.get(url, params=params), 404, *words)


# --- writing entries -------------------------------------------------------------------------


def stored_return_value(task_id: str):
    """What a downstream task instance receives from `task_id` in run r1 (the runner's read)."""
    with session() as sess:
        return return_values(sess, "sample", "r1", {task_id: {}}).get(task_id)


@pytest.mark.parametrize("value", [{"rows": 1204, "tables": ["a"]}, [1, 2], "text", 3.5, None,
                                   True])
def test_create_then_read_as_the_api_and_the_runner_do(client, xcoms, value):
    response = client.post(entries_url(task_id="load"),
                           json={"key": "return_value", "value": value})
    assert response.status_code == 201, response.text
    assert response.headers["location"].endswith(
        "/dags/sample/dagRuns/r1/taskInstances/load/xcomEntries/return_value")
    body = response.json()
    assert body["value"] == value and body["map_index"] == -1 and body["task_id"] == "load"
    url = entry_url("return_value", task_id="load")
    assert client.get(url, params={"stringify": False}).json()["value"] == value
    assert client.get(url).json()["value"] == str(value)
    assert stored_return_value("load") == value
    assert ("sample", "r1", "load", "return_value") in keys(client.get(entries_url(task_id="load")))


def test_create_an_existing_key_is_409_and_keeps_the_value(client, xcoms):
    response = client.post(entries_url(), json={"key": "rows", "value": 1})
    assert_problem(response, 409, "rows", "PATCH")
    assert client.get(entry_url("rows"), params={"stringify": False}).json()["value"] == {
        "rows": 1204, "tables": ["a", "b"]}


def test_patch_replaces_the_value_and_the_timestamp(client, xcoms):
    before = client.get(entry_url("return_value")).json()
    response = client.patch(entry_url("return_value"), json={"value": {"fixed": True}})
    assert response.status_code == 200, response.text
    assert response.json()["value"] == {"fixed": True}
    assert response.json()["timestamp"] > before["timestamp"]
    assert stored_return_value("extract") == {"fixed": True}


def test_delete_removes_the_entry(client, xcoms):
    assert client.delete(entry_url("rows")).status_code == 204
    assert_problem(client.get(entry_url("rows")), 404, "no XCom entry")
    assert_problem(client.delete(entry_url("rows")), 404, "no XCom entry")


@pytest.mark.parametrize("method, url, body, words", [
    ("POST", entries_url(dag_id="nope"), {"key": "k", "value": 1}, ["DAG", "nope"]),
    ("POST", entries_url(run_id="nope"), {"key": "k", "value": 1}, ["no run", "nope"]),
    ("POST", entries_url(task_id="nope"), {"key": "k", "value": 1}, ["no task instance"]),
    ("POST", entries_url(), {"key": "k", "value": 1, "map_index": 2}, ["map index 2"]),
    ("POST", entries_url("~", "~", "~"), {"key": "k", "value": 1}, ["DAG", "~"]),
    ("PATCH", entry_url("nope"), {"value": 1}, ["no XCom entry", "nope"]),
    ("PATCH", entry_url("rows", run_id="nope"), {"value": 1}, ["no run", "nope"]),
    ("PATCH", entry_url("rows"), {"value": 1, "map_index": 0}, ["map index 0"]),
    ("DELETE", entry_url("nope"), None, ["no XCom entry", "nope"]),
    ("DELETE", entry_url("rows", task_id="nope"), None, ["no task instance"]),
])
def test_writes_to_unknown_objects_are_404(client, xcoms, method, url, body, words):
    assert_problem(client.request(method, url, json=body), 404, *words)


@pytest.mark.parametrize("body, status", [
    ({"value": 1}, 422), ({"key": "k"}, 422), ({"key": "", "value": 1}, 400),
    ({"key": "k", "value": 1, "map_index": -2}, 400), ({"key": "k", "value": 1, "x": 1}, 400),
])
def test_invalid_create_bodies(client, xcoms, body, status):
    assert_problem(client.post(entries_url(), json=body), status)


def test_writes_need_the_xcom_permissions_and_are_logged(client, xcoms):
    role, user = fresh_name("xcom"), fresh_name("xcom-writer")
    create_role(client, role, API_ACCESS, ("can_edit", "DAGs"), ("can_create", "XComs"))
    create_user(client, user, role)
    auth = (user, PASSWORD)
    assert client.post(entries_url(), json={"key": "password", "value": "hunter2"},
                       auth=auth).status_code == 201
    assert_problem(client.patch(entry_url("rows"), json={"value": 1}, auth=auth), 403,
                   "can_edit on XComs")
    assert_problem(client.delete(entry_url("rows"), auth=auth), 403, "can_delete on XComs")
    events = client.get(f"{API}/eventLogs", params={"order_by": "-event_log_id"}).json()[
        "event_logs"]
    logged = next(e for e in events if e["event"] == "post_xcom_entry")
    assert logged["dag_id"] == "sample" and logged["task_id"] == "extract"
    assert "hunter2" not in json.dumps(events)
