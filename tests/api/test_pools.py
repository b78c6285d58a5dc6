"""Pools: slot counters, unlimited pools, renaming, and the protected default_pool."""

import pytest

from tests.api.helpers import POOLS, assert_problem

DEFAULT = "default_pool"
IDLE = {"occupied_slots": 0, "running_slots": 0, "queued_slots": 0, "scheduled_slots": 0,
        "deferred_slots": 0}


@pytest.fixture
def restore_default_pool(client):
    before = client.get(POOLS.url(DEFAULT)).json()
    yield
    client.patch(POOLS.url(DEFAULT), json={k: before[k] for k in
                                           ("slots", "description", "include_deferred")})


def test_default_pool_exists_with_open_slots(client):
    response = client.get(POOLS.url(DEFAULT))
    assert response.status_code == 200
    pool = response.json()
    assert pool["slots"] == 128
    assert pool["open_slots"] == pool["slots"]
    assert {k: pool[k] for k in IDLE} == IDLE
    assert [p["name"] for p in client.get(POOLS.path).json()["pools"]] == [DEFAULT]


def test_create_reports_slot_counters(client):
    response = client.post(POOLS.path, json={"name": "warehouse", "slots": 4})
    assert response.status_code == 201
    assert response.json() == {"name": "warehouse", "slots": 4, "open_slots": 4,
                               "description": None, "include_deferred": False, **IDLE}


def test_unlimited_pool_has_open_slots_minus_one(client):
    POOLS.create(client, "unlimited", slots=-1)
    assert client.get(POOLS.url("unlimited")).json()["open_slots"] == -1
    listed = {p["name"]: p for p in client.get(POOLS.path).json()["pools"]}
    assert listed["unlimited"]["open_slots"] == -1


def test_slot_counters_follow_a_change_of_slots(client):
    POOLS.create(client, "warehouse", slots=4)
    response = client.patch(POOLS.url("warehouse"), json={"slots": 0})
    assert response.json()["open_slots"] == 0
    response = client.patch(POOLS.url("warehouse"), json={"slots": -1})
    assert response.json()["open_slots"] == -1


def test_slots_below_minus_one_are_400(client):
    assert_problem(client.post(POOLS.path, json={"name": "p", "slots": -2}), 400, "slots")


def test_default_pool_cannot_be_deleted(client):
    assert_problem(client.delete(POOLS.url(DEFAULT)), 409, DEFAULT)
    assert client.get(POOLS.url(DEFAULT)).status_code == 200


@pytest.mark.parametrize("mask", [None, "name"])
def test_default_pool_cannot_be_renamed(client, mask):
    params = {"update_mask": mask} if mask else None
    response = client.patch(POOLS.url(DEFAULT), params=params, json={"name": "renamed"})
    assert_problem(response, 409, DEFAULT)
    assert client.get(POOLS.url(DEFAULT)).status_code == 200
    assert client.get(POOLS.url("renamed")).status_code == 404


def test_default_pool_slots_can_change(client, restore_default_pool):
    response = client.patch(POOLS.url(DEFAULT), json={"name": DEFAULT, "slots": 16})
    assert response.status_code == 200
    assert response.json()["slots"] == 16 and response.json()["open_slots"] == 16


def test_rename(client):
    created = POOLS.create(client, "old")
    response = client.patch(POOLS.url("old"), json={"name": "new"})
    assert response.status_code == 200
    assert response.json() == {**created, "name": "new"}
    assert client.get(POOLS.url("new")).json() == response.json()
    assert_problem(client.get(POOLS.url("old")), 404)


@pytest.mark.parametrize("taken", ["other", DEFAULT])
def test_rename_to_a_taken_name_is_409(client, taken):
    POOLS.create(client, "other")
    before = POOLS.create(client, "mine")
    assert_problem(client.patch(POOLS.url("mine"), json={"name": taken}), 409, taken)
    assert client.get(POOLS.url("mine")).json() == before


def test_include_deferred_round_trips(client):
    POOLS.create(client, "deferring", include_deferred=True)
    assert client.get(POOLS.url("deferring")).json()["include_deferred"] is True
    response = client.patch(POOLS.url("deferring"), params={"update_mask": "include_deferred"},
                            json={"include_deferred": False})
    assert response.json()["include_deferred"] is False


def test_list_orders_by_slots(client):
    for name, slots in (("small", 1), ("big", 500), ("unlimited", -1)):
        POOLS.create(client, name, slots=slots)
    ascending = POOLS.keys(client.get(POOLS.path, params={"order_by": "slots"}))
    assert ascending == ["unlimited", "small", DEFAULT, "big"]
    descending = POOLS.keys(client.get(POOLS.path, params={"order_by": "-slots"}))
    assert descending == ascending[::-1]
