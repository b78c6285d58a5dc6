"""Cursor pages of DAG runs and task instances (keyset paging without a COUNT), and sorting by
several fields (`order_by` repeated) on the lists."""

from __future__ import annotations

import base64
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.api.helpers import API, assert_problem, links
from tests.support.queries import statements
from tests.support.seed import EPOCH, add_dag, add_run, sample_dag

DAY = timedelta(days=1)
RUNS = f"{API}/dags/~/dagRuns"
TIS = f"{API}/dags/~/dagRuns/~/taskInstances"
STATES = ("success", "failed", "running", "queued", "success", "failed", "success")


@pytest.fixture
def runs(migrated):
    """Seven runs of `sample` and three of `other` (40 task instances), with repeated states,
    start dates that tie and some that are missing (NULL), and task states some of which are
    missing too."""
    for dag_id, count in (("sample", 7), ("other", 3)):
        dag = sample_dag(dag_id)
        add_dag(dag)
        for n in range(count):
            state = STATES[n]
            start = None if state == "queued" else EPOCH + (n // 2) * DAY
            task_states = {"extract": state if state != "queued" else None,
                           "transform": "success" if n % 3 else None}
            add_run(dag, f"{dag_id}_{n}", state=state, logical_date=EPOCH + n * DAY,
                    start=start, states=task_states)


def _ids(page: dict) -> list:
    if "dag_runs" in page:
        return [(run["dag_id"], run["dag_run_id"]) for run in page["dag_runs"]]
    return [(ti["dag_id"], ti["dag_run_id"], ti["task_id"]) for ti in page["task_instances"]]


def _walk(client, url: str, params: dict, limit: int) -> tuple[list, list]:
    """Every item, reading forward by next_cursor from the first page, then backward by the
    pages' `prev` links from the last: (forward, backward) in list order."""
    pages, cursor = [], ""
    while cursor is not None:
        response = client.get(url, params={**params, "limit": limit, "cursor": cursor})
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["total_entries"] == len(_ids(page))
        assert _linked_cursors(response) == {
            rel: page[field] for rel, field in (("next", "next_cursor"), ("prev", "previous_cursor"))
            if page[field]}
        pages.append((page, response))
        cursor = page["next_cursor"]
    assert pages[0][0]["previous_cursor"] is None
    backward, response = [], pages[-1][1]
    while "prev" in links(response):
        response = client.get(links(response)["prev"])
        backward = _ids(response.json()) + backward
    forward = [item for page, _ in pages for item in _ids(page)]
    return forward, backward + _ids(pages[-1][0])


def _linked_cursors(response) -> dict[str, str]:
    """{rel: cursor} of a cursor page's Link header (whose other arguments are the request's)."""
    linked = {}
    for rel, target in links(response).items():
        query = parse_qs(urlsplit(target).query, keep_blank_values=True)
        request = parse_qs(urlsplit(str(response.url)).query, keep_blank_values=True)
        assert {**request, "cursor": query["cursor"]} == query
        linked[rel] = query["cursor"][0]
    return linked


@pytest.mark.parametrize(("url", "order_by"), [
    (RUNS, []),
    (RUNS, ["-execution_date"]),
    (RUNS, ["state", "-start_date"]),  # a nullable key, directions mixed
    (RUNS, ["-start_date", "dag_id", "-dag_run_id"]),
    (TIS, []),
    (TIS, ["-start_date"]),
    (TIS, ["state", "task_id"]),  # NULL states
    (TIS, ["-state", "-dag_run_id"]),
    (f"{API}/dags/sample/dagRuns/~/taskInstances", ["duration", "-task_id"]),
])
@pytest.mark.parametrize("limit", [1, 3, 100])
def test_cursor_pages_hold_the_offset_listing(client, runs, url, order_by, limit):
    params = {"order_by": order_by} if order_by else {}
    everything = client.get(url, params={**params, "limit": 100}).json()
    forward, backward = _walk(client, url, params, limit)
    assert forward == backward == _ids(everything)


def test_first_cursor_page_of_an_empty_list(client, runs):
    page = client.get(RUNS, params={"cursor": "", "execution_date_gte": "2030-01-01T00:00:00Z"}
                      ).json()
    assert page == {"dag_runs": [], "total_entries": 0, "next_cursor": None,
                    "previous_cursor": None}


def test_limit_may_change_between_cursor_pages(client, runs):
    first = client.get(RUNS, params={"cursor": "", "limit": 2}).json()
    rest = client.get(RUNS, params={"cursor": first["next_cursor"], "limit": 100}).json()
    everything = client.get(RUNS).json()
    assert _ids(first) + _ids(rest) == _ids(everything) and rest["next_cursor"] is None


def test_cursor_pages_count_nothing(client, runs):
    for url in (RUNS, TIS):
        cursor = client.get(url, params={"cursor": "", "limit": 2}).json()["next_cursor"]
        with statements() as sent:
            assert client.get(url, params={"cursor": cursor, "limit": 2}).status_code == 200
        assert not [s for s in sent if "count(" in s.lower()], sent


def _tampered(cursor: str) -> str:
    payload, signature = cursor.split(".")
    data = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    changed = base64.urlsafe_b64encode(data.replace(b'"b":false', b'"b":true')).decode()
    return f"{changed.rstrip('=')}.{signature}"


@pytest.mark.parametrize("garble", [
    lambda c: "not-a-cursor",
    lambda c: c + "x",
    lambda c: c.split(".")[0],
    lambda c: c.replace(".", ".."),
    _tampered,
    lambda c: "é" + c,
    lambda c: base64.urlsafe_b64encode(b"[1,2]").decode() + "." + c.split(".")[1],
])
def test_garbled_cursor_is_400(client, runs, garble):
    cursor = client.get(RUNS, params={"cursor": "", "limit": 2}).json()["next_cursor"]
    assert_problem(client.get(RUNS, params={"cursor": garble(cursor)}), 400, "'cursor'")


@pytest.mark.parametrize("other_query", [
    {"order_by": "-id"},
    {"state": "success"},
    {"execution_date_gte": "2026-01-02T00:00:00Z"},
])
def test_cursor_of_another_query_is_400(client, runs, other_query):
    cursor = client.get(RUNS, params={"cursor": "", "limit": 2}).json()["next_cursor"]
    assert_problem(client.get(RUNS, params={"cursor": cursor, **other_query}), 400, "'cursor'",
                   "same query")


def test_cursor_of_another_path_is_400(client, runs):
    cursor = client.get(RUNS, params={"cursor": "", "limit": 2}).json()["next_cursor"]
    assert_problem(client.get(f"{API}/dags/sample/dagRuns", params={"cursor": cursor}), 400,
                   "'cursor'")


def test_cursor_with_an_offset_that_skips_is_400(client, runs):
    assert_problem(client.get(RUNS, params={"cursor": "", "offset": 1}), 400, "'cursor'",
                   "'offset'")
    assert_problem(client.post(f"{RUNS}/list", json={"cursor": "", "page_offset": 2}), 400,
                   "'cursor'")


def test_cursor_with_the_default_offset_is_a_cursor_page(client, runs):
    """Generated clients (the Go SDK's) send every parameter's default, `offset=0` included."""
    plain = client.get(RUNS, params={"cursor": "", "limit": 3}).json()
    with_default = client.get(RUNS, params={"cursor": "", "limit": 3, "offset": 0}).json()
    assert with_default == plain and plain["next_cursor"]
    following = client.get(RUNS, params={"cursor": plain["next_cursor"], "limit": 3,
                                         "offset": 0})
    assert following.status_code == 200, following.text
    form = client.post(f"{RUNS}/list", json={"cursor": "", "page_limit": 3, "page_offset": 0})
    assert _ids(form.json()) == _ids(plain) and form.json()["next_cursor"]


@pytest.mark.parametrize(("url", "body"), [
    (f"{RUNS}/list", {"dag_ids": ["sample"], "order_by": "-execution_date"}),
    (f"{TIS}/list", {"dag_ids": ["other"], "state": ["success"]}),
])
def test_list_forms_page_by_cursor(client, runs, url, body):
    everything = client.post(url, json=body).json()
    items, cursor = [], ""
    while cursor is not None:
        page = client.post(url, json={**body, "page_limit": 2, "cursor": cursor}).json()
        items += _ids(page)
        cursor = page["next_cursor"]
    assert items == _ids(everything) and len(items) > 2
    first = client.post(url, json={**body, "page_limit": 2, "cursor": ""}).json()
    assert_problem(client.post(url, json={**body, "order_by": "dag_id",
                                          "cursor": first["next_cursor"]}), 400, "'cursor'")


def test_offset_pages_have_no_cursors(client, runs):
    page = client.get(RUNS).json()
    assert page["total_entries"] == 10 and "next_cursor" not in page


# Sorting by several fields


def test_order_by_repeated_sorts_by_each_field_in_turn(client, runs):
    runs_ = client.get(RUNS, params={"order_by": ["state", "-execution_date"]}).json()
    keys = [(run["state"], run["execution_date"]) for run in runs_["dag_runs"]]
    by_state = sorted(keys, key=lambda k: k[1], reverse=True)
    assert keys == sorted(by_state, key=lambda k: k[0])
    tis = client.get(TIS, params={"order_by": ["task_id", "-dag_run_id"]}).json()
    keys = [(ti["task_id"], ti["dag_run_id"], ti["dag_id"]) for ti in tis["task_instances"]]
    by_run = sorted(keys, key=lambda k: (k[1], k[2]), reverse=True)  # ties: the key, descending
    assert keys == sorted(by_run, key=lambda k: k[0])


@pytest.mark.parametrize(("url", "order_by", "field", "expected"), [
    (f"{API}/pools", ["slots", "-name"], "name", ["c", "b", "a", "default_pool"]),
    (f"{API}/variables", ["-value", "key"], "key", ["a", "b", "c"]),
    (f"{API}/dags/sample/tasks", ["owner", "-task_id"], "task_id",
     ["transform", "report", "load", "extract"]),
])
def test_order_by_repeated_on_other_lists(client, runs, url, order_by, field, expected):
    for name in ("b", "a", "c"):
        client.post(f"{API}/pools", json={"name": name, "slots": 1})
        client.post(f"{API}/variables", json={"key": name, "value": "same"})
    items = next(v for v in client.get(url, params={"order_by": order_by}).json().values()
                 if isinstance(v, list))
    assert [item[field] for item in items] == expected


@pytest.mark.parametrize(("url", "order_by", "words"), [
    (RUNS, ["state", "nope"], ("'nope'",)),
    (RUNS, ["state", "-state"], ("'state'", "more than once")),
    (RUNS, ["id", "state", "dag_id", "end_date", "start_date", "conf"], ("6 fields", "at most 5")),
    (TIS, ["state,task_id", "dag_id"], ("'state,task_id'",)),
    (f"{API}/dags/sample/tasks", ["owner", "nope"], ("'nope'",)),
    (f"{API}/pools", ["name", "name"], ("'name'", "more than once")),
])
def test_bad_repeated_order_by_is_400(client, runs, url, order_by, words):
    assert_problem(client.get(url, params={"order_by": order_by}), 400, *words)
