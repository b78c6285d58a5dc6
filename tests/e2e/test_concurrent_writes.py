"""Conditional and concurrent writes are atomic, against a real two-worker api-server.

For every resource with an ETag, 50 requests fire at once: PATCHes carrying the same `If-Match`
(exactly one wins, every other is 412 and the winner's value is the one stored), and DELETEs of
one object (exactly one 204, the rest 404, one event log row).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import ADMIN
from tests.support.seed import add_dag, add_run, sample_dag
from tests.support.server import api_server

RACERS = 50
READ_ONLY_ROLE_ACTIONS = [{"action": {"name": "can_read"}, "resource": {"name": "Pools"}}]


@pytest.fixture(scope="module")
def server(migrated) -> Iterator[str]:
    """Two worker processes; a generous database wait, so that no racer is turned away 503
    on a busy machine (the bound itself is tested in test_database_waits.py)."""
    env = {**migrated, "WINDSOCK__API__WORKERS": "2", "WINDSOCK__DATABASE__WAIT_TIMEOUT": "60"}
    with api_server(env) as base:
        yield base


@pytest.fixture
def api(server) -> Iterator[httpx.Client]:
    limits = httpx.Limits(max_connections=RACERS)
    with httpx.Client(base_url=f"{server}/api/v1", auth=ADMIN, timeout=120,
                      limits=limits) as client:
        yield client


def race(count: int, request: Callable[[int], httpx.Response]) -> list[httpx.Response]:
    """`count` calls of `request(i)`, released together."""
    start = threading.Barrier(count)

    def one(i: int) -> httpx.Response:
        start.wait()
        return request(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


@dataclass(frozen=True)
class Resource:
    """An object to race on: how to create it, its path, and a PATCH body that differs per
    racer (the body of racer i, and how to read back the field it sets)."""

    name: str
    create: Callable[[httpx.Client], None]
    path: str
    patch: Callable[[int], dict] | None  # None: the object has no PATCH
    stored: Callable[[dict], object] = lambda body: None
    patch_path: str | None = None  # where the PATCH goes, when not `path`
    delete_event: str | None = None  # the event log name of its DELETE; None: no DELETE


def _post(path: str, body: dict) -> Callable[[httpx.Client], None]:
    def create(client: httpx.Client) -> None:
        client.post(path, json=body).raise_for_status()
    return create


def _seed_run(client: httpx.Client) -> None:
    dag = sample_dag("racing")
    add_dag(dag)
    add_run(dag, "run_1", state="running", states={"extract": "running"})


RESOURCES = [
    Resource("variable", _post("/variables", {"key": "racing", "value": "start"}),
             "/variables/racing", lambda i: {"key": "racing", "value": f"v{i}"},
             lambda body: body["value"], delete_event="delete_variable"),
    Resource("pool", _post("/pools", {"name": "racing", "slots": 1}),
             "/pools/racing", lambda i: {"name": "racing", "slots": i + 2},
             lambda body: body["slots"], delete_event="delete_pool"),
    Resource("connection", _post("/connections", {"connection_id": "racing", "conn_type": "http"}),
             "/connections/racing",
             lambda i: {"connection_id": "racing", "conn_type": "http", "description": f"d{i}"},
             lambda body: body["description"], delete_event="delete_connection"),
    Resource("user", _post("/users", {"username": "racing", "password": "racing-password-1",
                                      "first_name": "R", "last_name": "R",
                                      "email": "racing@example.org",
                                      "roles": [{"name": "Viewer"}]}),
             "/users/racing", lambda i: {"first_name": f"n{i}"},
             lambda body: body["first_name"], delete_event="delete_user"),
    Resource("role", _post("/roles", {"name": "racing", "actions": READ_ONLY_ROLE_ACTIONS}),
             "/roles/racing",
             lambda i: {"name": "racing",
                        "actions": [{"action": {"name": "can_read"},
                                     "resource": {"name": f"DAG:racer_{i}"}}]},
             lambda body: body["actions"][0]["resource"]["name"], delete_event="delete_role"),
    Resource("DAG", lambda client: add_dag(sample_dag("racing")), "/dags/racing",
             lambda i: {"is_paused": True}, delete_event="delete_dag"),
    Resource("DAG run note", _seed_run, "/dags/racing/dagRuns/run_1",
             lambda i: {"note": f"n{i}"}, lambda body: body["note"],
             patch_path="/dags/racing/dagRuns/run_1/setNote", delete_event="delete_dag_run"),
    Resource("task instance note", _seed_run, "/dags/racing/dagRuns/run_1/taskInstances/extract",
             lambda i: {"note": f"n{i}"}, lambda body: body["note"],
             patch_path="/dags/racing/dagRuns/run_1/taskInstances/extract/setNote"),
]


def _events(name: str) -> int:
    from windsock.db.engine import session
    from windsock.db.models import EventLog

    with session() as sess:
        return sess.scalar(select(func.count()).where(EventLog.event == name))


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.name)
def test_one_of_many_conditional_patches_wins(api, resource):
    resource.create(api)
    etag = api.get(resource.path).headers["ETag"]

    answers = race(RACERS, lambda i: api.patch(resource.patch_path or resource.path,
                                               json=resource.patch(i),
                                               headers={"If-Match": etag}))

    statuses = Counter(answer.status_code for answer in answers)
    assert statuses == {200: 1, 412: RACERS - 1}, statuses
    winner = next(answer for answer in answers if answer.status_code == 200)
    now = api.get(resource.path)
    assert now.headers["ETag"] == winner.headers["ETag"] != etag
    assert resource.stored(now.json()) == resource.stored(winner.json())
    for loser in (answer for answer in answers if answer.status_code == 412):
        assert loser.headers["Content-Type"] == "application/problem+json"
        assert loser.headers["ETag"] == winner.headers["ETag"]  # the current one, to retry with


@pytest.mark.parametrize("resource", [r for r in RESOURCES if r.delete_event],
                         ids=lambda r: r.name)
def test_one_of_many_deletes_wins(api, resource):
    resource.create(api)

    answers = race(RACERS, lambda i: api.delete(resource.path))

    statuses = Counter(answer.status_code for answer in answers)
    assert statuses == {204: 1, 404: RACERS - 1}, statuses
    assert api.get(resource.path).status_code == 404
    assert _events(resource.delete_event) == 1


@pytest.mark.parametrize("path, entity", [
    ("/variables", {"key": "racing", "value": "v"}),
    ("/pools", {"name": "racing", "slots": 1}),
    ("/connections", {"connection_id": "racing", "conn_type": "http"}),
], ids=["variables", "pools", "connections"])
def test_one_of_many_bulk_creates_of_a_key_wins(api, path, entity):
    """Each racer creates the same key and one of its own: one action succeeds whole, every other
    fails whole with a 409 for the shared key and leaves its own key uncreated."""
    key = next(iter(entity.values()))
    field = next(iter(entity))

    answers = race(RACERS, lambda i: api.patch(path, json={"actions": [{
        "action": "create", "entities": [entity, {**entity, field: f"own_{i}"}]}]}))

    outcomes = [answer.json()["create"] for answer in answers]
    winners = [o for o in outcomes if o["success"]]
    assert len(winners) == 1 and winners[0]["success"][0] == key, outcomes
    losers = [o for o in outcomes if not o["success"]]
    assert all([(e["key"], e["status"]) for e in o["errors"]] == [(key, 409)] for o in losers)
    listed = {item[field] for item in api.get(path, params={"limit": 100}).json()[path[1:]]}
    assert {name for name in listed if name.startswith("own_")} == {winners[0]["success"][1]}
    assert _events(f"bulk{path.replace('/', '_')}") == 1


def test_one_of_many_backfills_of_a_dag_is_created(api):
    """A DAG has at most one active backfill, also when many are asked for at once."""
    add_dag(sample_dag("racing", schedule="@daily"))
    body = {"dag_id": "racing", "from_date": "2026-03-01T00:00:00+00:00",
            "to_date": "2026-03-07T00:00:00+00:00"}

    answers = race(RACERS, lambda i: api.post("/backfills", json=body))

    statuses = Counter(answer.status_code for answer in answers)
    assert statuses == {201: 1, 409: RACERS - 1}, statuses
    assert api.get("/backfills", params={"dag_id": "racing"}).json()["total_entries"] == 1
    assert _events("create_backfill") == 1
