"""GET /dags/{dag_id}/dagRuns/{dag_run_id}/wait, in process: what is refused before the answer
begins, answers that end at once, and waits that follow the run's changes made in the database
meanwhile (the scheduler's part is in tests/e2e/test_dag_run_wait.py)."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time

import pytest
from sqlalchemy import delete, update
from windsock.db.engine import session
from windsock.db.models import DagRun
from windsock.runs import waits

from tests.api.accounts import PASSWORD, create_role, create_user, fresh_name
from tests.api.helpers import assert_problem
from tests.conftest import ADMIN
from tests.support.seed import add_dag, add_run, add_xcom, sample_dag

URL = "/api/v1/dags/sample/dagRuns/{run}/wait"
NDJSON = "application/x-ndjson"


@pytest.fixture
def runs(migrated, monkeypatch):
    """DAG `sample` with a finished run (`done`, whose `transform` returned [2, 4, 6]) and a
    running one (`busy`); waits look at the database every 50 ms."""
    monkeypatch.setenv("WINDSOCK__API__WAIT_POLL_INTERVAL", "0.05")
    dag = sample_dag()
    add_dag(dag)
    add_run(dag, "done", state="success")
    add_xcom("sample", "done", "transform", "return_value", [2, 4, 6])
    add_run(dag, "busy", state="running", logical_date=dag.start_date.replace(day=2))
    return dag


def lines(response) -> list[dict]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == NDJSON
    assert response.text.endswith("\n")
    return [json.loads(line) for line in response.text.splitlines()]


def later(seconds: float, change) -> threading.Thread:
    """Run `change()` on a thread of its own after `seconds`."""
    thread = threading.Timer(seconds, change)
    thread.start()
    return thread


def set_state(run_id: str, state: str) -> None:
    with session() as sess:
        sess.execute(update(DagRun).where(DagRun.run_id == run_id).values(state=state))


@pytest.mark.parametrize("query, expected", [
    ("timeout=0", [{"state": "success"}]),
    ("timeout=30&result=transform,load",
     [{"state": "success", "results": {"transform": [2, 4, 6], "load": None}}]),
])
def test_a_finished_run_answers_at_once(client, runs, query, expected):
    assert lines(client.get(URL.format(run="done") + "?" + query)) == expected


def test_timeout_zero_answers_the_state_now(client, runs):
    assert lines(client.get(URL.format(run="busy") + "?timeout=0")) == [
        {"state": "running", "timed_out": True}]


def test_a_wait_ends_with_its_timeout(client, runs):
    started = time.monotonic()
    assert lines(client.get(URL.format(run="busy") + "?timeout=0.4")) == [
        {"state": "running"}, {"state": "running", "timed_out": True}]
    assert 0.4 <= time.monotonic() - started < 3


def test_a_wait_follows_the_run_to_its_end(client, runs):
    def finish():
        set_state("busy", "queued")
        time.sleep(0.3)
        add_xcom("sample", "busy", "load", "return_value", 3)
        set_state("busy", "failed")

    later(0.3, finish)
    assert lines(client.get(URL.format(run="busy") + "?timeout=30&result=load,extract")) == [
        {"state": "running"}, {"state": "queued"},
        {"state": "failed", "results": {"load": 3, "extract": None}}]


def test_a_run_deleted_while_waited_for_ends_the_wait(client, runs):
    def remove():
        with session() as sess:
            sess.execute(delete(DagRun).where(DagRun.run_id == "busy"))

    later(0.3, remove)
    assert lines(client.get(URL.format(run="busy") + "?timeout=30")) == [
        {"state": "running"}, {"state": "running", "deleted": True}]


def test_many_waits_share_one_query_per_interval(client, runs):
    """Eight waits of two runs: the poller reads all their states in one query per interval."""
    answers: list = []
    watch: list = []

    async def wait_all(app):
        watch.append(waits.watch())
        await asyncio.gather(*(call(app, run, "timeout=1.0", answers)
                               for run in ("busy", "done") * 4))

    later(0.4, lambda: set_state("busy", "success"))
    asyncio.run(wait_all(client.app))
    finished = [json.loads(body.splitlines()[-1]) for body in answers]
    assert finished == [{"state": "success"}] * 8
    # 0.4 s at one query each 50 ms: about eight, far fewer than one per wait and interval.
    assert 1 <= watch[0].polls <= 16, watch[0].polls
    assert not watch[0].waits and watch[0].poller is None


async def call(app, run: str, query: str, answers: list, hang_up: float | None = None) -> None:
    """One GET of the wait through the ASGI app; the client hangs up `hang_up` seconds after
    the first line when given."""
    token = base64.b64encode(":".join(ADMIN).encode())
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
             "scheme": "http", "path": URL.format(run=run), "raw_path": URL.format(run=run).encode(),
             "root_path": "", "query_string": query.encode(), "server": ("testserver", 80),
             "client": ("127.0.0.1", 5000),
             "headers": [(b"host", b"testserver"), (b"authorization", b"Basic " + token)]}
    first_line, done = asyncio.Event(), asyncio.Event()
    body = bytearray()
    requested = False

    async def receive():
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        if hang_up is not None:
            await first_line.wait()
            await asyncio.sleep(hang_up)
        else:
            await done.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.body":
            body.extend(message.get("body", b""))
            if body.endswith(b"\n"):
                first_line.set()
            if not message.get("more_body"):
                done.set()

    await app(scope, receive, send)
    answers.append(body.decode())


def test_a_client_hanging_up_ends_its_wait(client, runs):
    answers: list = []
    watch: list = []

    async def hang_up(app):
        watch.append(waits.watch())
        started = time.monotonic()
        await call(app, "busy", "timeout=60", answers, hang_up=0.2)
        return time.monotonic() - started

    assert asyncio.run(hang_up(client.app)) < 5
    assert answers == ['{"state":"running"}\n']
    assert not watch[0].waits


@pytest.mark.parametrize("run, query, status, words", [
    ("nope", "timeout=1", 404, ("has no run 'nope'",)),
    ("busy", "timeout=-1", 400, ("timeout",)),
    ("busy", "timeout=3601", 400, ("timeout",)),
    ("busy", "timeout=soon", 400, ("timeout",)),
    ("busy", "", 400, ("timeout",)),
    ("busy", "timeout=1&result=transform,nothing,else", 422,
     ("'result' names tasks that DAG 'sample' does not have: 'nothing', 'else'",)),
    ("busy", "timeout=1&result=a%20b", 400, ("result",)),
])
def test_problems_before_the_answer_begins(client, runs, run, query, status, words):
    assert_problem(client.get(URL.format(run=run) + "?" + query), status, *words)


def test_an_unknown_dag_is_404(client, runs):
    assert_problem(client.get("/api/v1/dags/other/dagRuns/busy/wait?timeout=1"), 404)


def test_only_ndjson_is_offered(client, runs):
    assert_problem(client.get(URL.format(run="done") + "?timeout=0",
                              headers={"Accept": "application/json"}), 406, "application/x-ndjson")


def test_results_need_read_access_to_xcoms(client, runs):
    name = fresh_name("waiter")
    create_role(client, name, ("can_access", "API"), ("can_read", "DAGs"),
                ("can_read", "DAG Runs"))
    create_user(client, name, name)
    client.auth = (name, PASSWORD)
    assert lines(client.get(URL.format(run="done") + "?timeout=0")) == [{"state": "success"}]
    assert_problem(client.get(URL.format(run="done") + "?timeout=0&result=transform"), 403,
                   "can_read on XComs", "for DAG 'sample'")
