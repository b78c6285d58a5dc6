"""Waiting for DAG runs against a real `windsock api-server` while a real `windsock scheduler`
runs them: GET .../dagRuns/{dag_run_id}/wait over raw HTTP (lines as the run changes, results,
timeouts, many waits at once holding no thread or database connection), and the Python SDK's
hand-written helpers (windsock_client.helpers) on top of it and of the list operations."""

from __future__ import annotations

import base64
import http.client
import json
import os
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import windsock_client
from sqlalchemy import text
from windsock.db.engine import engine
from windsock_client.helpers import items, pages, trigger_and_wait, wait_for_dag_run

from tests.conftest import ADMIN
from tests.support.sockets import LISTEN, holders, socket_inodes

RUN_TIMEOUT = 90  # seconds a run of these small DAGs may take
BASIC = "Basic " + base64.b64encode(":".join(ADMIN).encode()).decode()


def unpause(client: windsock_client.ApiClient, dag_id: str) -> None:
    windsock_client.DAGApi(client).patch_dag(dag_id, windsock_client.DAGPatch(is_paused=False),
                                             update_mask=["is_paused"])


def trigger(client: windsock_client.ApiClient, dag_id: str, run_id: str) -> None:
    windsock_client.DAGRunApi(client).post_dag_run(
        dag_id, windsock_client.DAGRunCreate(dag_run_id=run_id))


class Wait:
    """One wait request on a connection of its own, read line by line."""

    def __init__(self, base: str, dag_id: str, run_id: str, query: str) -> None:
        address = urlsplit(base)
        self.conn = http.client.HTTPConnection(address.hostname, address.port,
                                               timeout=RUN_TIMEOUT)
        self.conn.request("GET", f"/api/v1/dags/{dag_id}/dagRuns/{run_id}/wait?{query}",
                          headers={"Authorization": BASIC})
        self.response = self.conn.getresponse()

    def line(self) -> dict:
        return json.loads(self.response.readline())

    def rest(self) -> list[dict]:
        """Every line to the end of the answer."""
        return [json.loads(line) for line in self.response.read().decode().splitlines()]

    def close(self) -> None:
        self.conn.close()


def server_pid(base: str) -> int:
    port = urlsplit(base).port
    [pid] = holders(socket_inodes(port, LISTEN))
    return pid


def threads_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines()
                    if line.startswith("Threads:")))


def database_connections(pid: int) -> int:
    """The server's database connections: its open SQLite files, or its PostgreSQL sessions."""
    if engine().dialect.name == "sqlite":
        database = os.path.realpath(engine().url.database)
        fds = Path(f"/proc/{pid}/fd")
        return sum(1 for fd in fds.iterdir() if os.path.realpath(fd) == database)
    with engine().connect() as conn:  # every session of the database but this test's own
        return conn.execute(text("SELECT count(*) - 1 FROM pg_stat_activity "
                                 "WHERE datname = current_database()")).scalar_one()


def test_a_wait_follows_a_run_to_its_end(live_server, live_scheduler, api_client):
    unpause(api_client, "example_xcom_chain")
    trigger(api_client, "example_xcom_chain", "wait_chain")
    wait = Wait(live_server, "example_xcom_chain", "wait_chain",
                f"timeout={RUN_TIMEOUT}&result=transform,load")
    assert wait.response.status == 200
    assert wait.response.getheader("Content-Type") == "application/x-ndjson"
    lines = [wait.line()]
    assert lines[0] in ({"state": "queued"}, {"state": "running"})
    lines += wait.rest()
    wait.close()
    states = [line["state"] for line in lines]
    assert states == sorted(set(states), key=["queued", "running", "success"].index), lines
    assert lines[-1] == {"state": "success",
                         "results": {"transform": {"count": 3, "total": 49.75}, "load": None}}


def test_a_wait_ends_with_its_timeout(live_server, live_scheduler, api_client):
    trigger(api_client, "example_shell", "wait_paused")  # paused: the run stays queued
    started = time.monotonic()
    wait = Wait(live_server, "example_shell", "wait_paused", "timeout=1.5")
    assert wait.rest() == [{"state": "queued"}, {"state": "queued", "timed_out": True}]
    assert 1.5 <= time.monotonic() - started < 5
    windsock_client.DAGRunApi(api_client).delete_dag_run("example_shell", "wait_paused")


def test_many_waits_hold_no_thread_or_database_connection(live_server, live_scheduler,
                                                          api_client):
    """80 waits at once, eight times the threads that serve Flask, each got its first line
    (a wait holding its thread would keep the eleventh from starting); meanwhile other requests
    are answered at once, and the server has fewer new threads and database connections than
    waits. The run's deletion ends the one left open."""
    trigger(api_client, "example_shell", "wait_many")
    pid = server_pid(live_server)
    versions = windsock_client.MonitoringApi(api_client)
    versions.get_version()
    threads, connections = threads_of(pid), database_connections(pid)
    waits = [Wait(live_server, "example_shell", "wait_many", "timeout=120")
             for _ in range(80)]
    try:
        assert [wait.line() for wait in waits] == [{"state": "queued"}] * 80
        started = time.monotonic()
        versions.get_version()
        assert time.monotonic() - started < 2
        # Fewer than one per wait: the request threads' pools (10 for Flask, 40 for the guard)
        # may have grown, and the database pool's idle connections.
        assert threads_of(pid) - threads < 55, (threads, threads_of(pid))
        assert database_connections(pid) - connections < 20, (connections,
                                                              database_connections(pid))
    finally:
        for wait in waits[1:]:
            wait.close()
    deleted = threading.Timer(0.5, windsock_client.DAGRunApi(api_client).delete_dag_run,
                              ("example_shell", "wait_many"))
    deleted.start()
    assert waits[0].rest() == [{"state": "queued", "deleted": True}]
    deleted.join()
    waits[0].close()


def test_problems_come_before_the_answer(live_server, api_client):
    wait = Wait(live_server, "example_shell", "no_such_run", "timeout=1")
    assert wait.response.status == 404
    assert wait.response.getheader("Content-Type") == "application/problem+json"
    wait.close()


# The Python SDK's helpers


def test_items_and_pages_go_through_every_page(api_client):
    variables = windsock_client.VariableApi(api_client)
    for n in range(7):
        variables.post_variables(windsock_client.Variable(key=f"page_{n}", value=str(n)))
    keys = [v.key for v in items(variables.get_variables, limit=3)]
    assert sorted(keys) == [f"page_{n}" for n in range(7)]
    sizes = [len(page.variables) for page in pages(variables.get_variables, limit=3)]
    assert sizes == [3, 3, 1]
    assert [v.key for v in items(variables.get_variables, limit=3, offset=5)] == keys[5:]


def test_trigger_and_wait_and_wait_for_dag_run(api_client, live_scheduler):
    unpause(api_client, "e2e_mapped")
    seen: list[str] = []
    run, last = trigger_and_wait(
        api_client, "e2e_mapped", windsock_client.DAGRunCreate(dag_run_id="helper_mapped"),
        timeout=RUN_TIMEOUT, result=["load", "total"], on_state=lambda line: seen.append(
            line.state.value))
    assert run.dag_run_id == "helper_mapped"
    assert last.state == "success" and seen[-1] == "success"
    loaded = ["orders:a.csv", "orders:b.csv", "orders:c.csv"]
    assert last.results == {"load": loaded, "total": loaded}
    # A finished run answers at once.
    assert wait_for_dag_run(api_client, "e2e_mapped", "helper_mapped").state == "success"
    with pytest.raises(windsock_client.exceptions.NotFoundException):
        wait_for_dag_run(api_client, "e2e_mapped", "no_such_run")
    with pytest.raises(windsock_client.exceptions.UnprocessableEntityException):
        wait_for_dag_run(api_client, "e2e_mapped", "helper_mapped", result=["nope"])


def test_wait_for_dag_run_gives_up_after_its_timeout(api_client, live_scheduler):
    trigger(api_client, "example_shell", "helper_paused")
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="still queued"):
        wait_for_dag_run(api_client, "example_shell", "helper_paused", timeout=1)
    assert 1 <= time.monotonic() - started < 5
    windsock_client.DAGRunApi(api_client).delete_dag_run("example_shell", "helper_paused")
