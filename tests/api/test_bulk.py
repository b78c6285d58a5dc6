"""Bulk changes of connections, variables and pools (PATCH on the collection): each action as one
unit, the existence options, per-kind permissions checked before anything changes, secrets kept
out of answers and the event log, and the contract's limits."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from windsock.db.engine import session
from windsock.db.models import EventLog

from tests.api.accounts import API_ACCESS, PASSWORD, create_role, create_user, fresh_name
from tests.api.helpers import CONNECTIONS, POOLS, VARIABLES, assert_problem, resource_params

SECRETS = ("s3cr3t", "hunter2", "require")  # a password, a sensitive value, an `extra` value


def bulk(client, resource, *actions, **kwargs):
    return client.patch(resource.path, json={"actions": list(actions)}, **kwargs)


def create(resource, *keys, on_existence="fail", **fields):
    return {"action": "create", "entities": [resource.body(k, **fields) for k in keys],
            "action_on_existence": on_existence}


def result(response, kind: str) -> dict:
    assert response.status_code == 200, response.text
    return response.json()[kind]


def stored(client, resource) -> dict[str, dict]:
    response = client.get(resource.path, params={"limit": 100})
    return {item[resource.key]: item for item in response.json()[resource.plural]}


def event_rows(event: str) -> list[dict]:
    with session() as sess:
        return [json.loads(row.extra) for row in sess.scalars(
            select(EventLog).where(EventLog.event == event).order_by(EventLog.id))]


@pytest.mark.parametrize("resource", resource_params())
def test_create_update_delete_in_one_request(client, resource):
    resource.create(client, "old")
    resource.create(client, "kept")
    change = {resource.key: "kept", **resource.sample, **resource.change}
    response = bulk(client, resource, create(resource, "a", "b"),
                    {"action": "update", "entities": [change]},
                    {"action": "delete", "entities": ["old"]})
    assert response.json() == {kind: {"success": keys, "skipped": [], "errors": []}
                               for kind, keys in (("create", ["a", "b"]), ("update", ["kept"]),
                                                  ("delete", ["old"]))}
    items = stored(client, resource)
    assert {"a", "b", "kept"} <= set(items) and "old" not in items
    if resource is not CONNECTIONS:  # a connection's list leaves some fields out
        assert {k: items["kept"][k] for k in resource.change} == resource.change
    rows = event_rows(f"bulk_{resource.plural}")
    assert [(r["body"]["action"], r["body"]["keys"]) for r in rows] == [
        ("create", ["a", "b"]), ("update", ["kept"]), ("delete", ["old"])]
    assert rows[0]["method"] == "PATCH" and rows[0]["path"] == resource.path


@pytest.mark.parametrize("resource", resource_params())
def test_an_existing_key_fails_its_whole_action_only(client, resource):
    resource.create(client, "taken")
    response = bulk(client, resource, create(resource, "fresh", "taken"),
                    create(resource, "other"))
    outcome = result(response, "create")
    assert outcome["success"] == ["other"] and outcome["skipped"] == []
    [error] = outcome["errors"]
    assert error["key"] == "taken" and error["status"] == 409 and "taken" in error["detail"]
    assert error["type"] == "/api/v1/docs/errors#conflict" and error["title"] == "Conflict"
    assert {"other", "taken"} <= set(stored(client, resource))
    assert "fresh" not in stored(client, resource)
    assert [r["body"]["keys"] for r in event_rows(f"bulk_{resource.plural}")] == [["other"]]


@pytest.mark.parametrize("resource", resource_params())
def test_skip_and_overwrite_existing(client, resource):
    before = resource.create(client, "taken")
    skipped = result(bulk(client, resource, create(resource, "taken", "new", on_existence="skip",
                                                   **resource.change)), "create")
    assert skipped == {"success": ["new"], "skipped": ["taken"], "errors": []}
    assert client.get(resource.url("taken")).json() == before
    written = result(bulk(client, resource, create(resource, "taken", on_existence="overwrite",
                                                   **resource.change)), "create")
    assert written == {"success": ["taken"], "skipped": [], "errors": []}
    after = client.get(resource.url("taken")).json()
    assert {k: after[k] for k in resource.change} == resource.change


@pytest.mark.parametrize("resource", resource_params())
@pytest.mark.parametrize("kind", ["update", "delete"])
def test_a_missing_key_fails_or_is_skipped(client, resource, kind):
    before = resource.create(client, "there")
    there = "there" if kind == "delete" else {**resource.body("there"), **resource.change}
    missing = "ghost" if kind == "delete" else resource.body("ghost")
    failed = result(bulk(client, resource, {"action": kind, "entities": [there, missing]}), kind)
    assert failed["success"] == [] and [(e["key"], e["status"]) for e in failed["errors"]] == [
        ("ghost", 404)]
    assert client.get(resource.url("there")).json() == before
    skipped = result(bulk(client, resource, {"action": kind, "entities": [there, missing],
                                             "action_on_non_existence": "skip"}), kind)
    assert skipped == {"success": ["there"], "skipped": ["ghost"], "errors": []}
    assert (client.get(resource.url("there")).status_code == 404) is (kind == "delete")


def test_update_mask_changes_only_the_fields_it_names(client):
    VARIABLES.create(client, "region", value="eu-west-1", description="Where")
    entity = {"key": "region", "value": "us-east-2", "description": "Elsewhere"}
    outcome = result(bulk(client, VARIABLES, {"action": "update", "entities": [entity],
                                              "update_mask": ["value"]}), "update")
    assert outcome["success"] == ["region"]
    assert client.get(VARIABLES.url("region")).json() == {
        "key": "region", "value": "us-east-2", "description": "Where"}


def test_entities_are_checked_as_the_single_operations_check_them(client):
    """A connection's `extra` must be a JSON object (422); default_pool cannot be deleted (409);
    a mask naming a field an entity lacks is 400."""
    bad = CONNECTIONS.body("bad", extra="[1, 2]")
    [error] = result(bulk(client, CONNECTIONS, {"action": "create",
                                                "entities": [CONNECTIONS.body("good"), bad]}),
                     "create")["errors"]
    assert (error["key"], error["status"], error["title"]) == ("bad", 422,
                                                               "Unprocessable Content")
    assert "good" not in stored(client, CONNECTIONS)
    [error] = result(bulk(client, POOLS, {"action": "delete", "entities": ["default_pool"]}),
                     "delete")["errors"]
    assert error["status"] == 409 and "default_pool" in error["detail"]
    VARIABLES.create(client, "region")
    [error] = result(bulk(client, VARIABLES, {"action": "update", "update_mask": ["description"],
                                              "entities": [{"key": "region", "value": "x"}]}),
                     "update")["errors"]
    assert error["status"] == 400 and "description" in error["detail"]


def test_secrets_stay_out_of_the_answer_and_the_event_log(client):
    connection = CONNECTIONS.body("warehouse", password="s3cr3t",
                                  extra='{"sslmode": "require", "api_key": "hunter2"}')
    secret_variable = {"key": "warehouse_password", "value": "hunter2"}
    answers = [bulk(client, CONNECTIONS, {"action": "create", "entities": [connection]},
                    {"action": "update", "entities": [connection]}),
               bulk(client, VARIABLES, {"action": "create", "entities": [secret_variable]},
                    {"action": "update", "entities": [secret_variable]})]
    assert all(r.status_code == 200 for r in answers)
    with session() as sess:
        logged = [row.extra for row in sess.scalars(
            select(EventLog).where(EventLog.event.like("bulk_%")))]
    assert len(logged) == 4
    for text in [r.text for r in answers] + logged:
        assert not [secret for secret in SECRETS if secret in text], text
    assert client.get(VARIABLES.url("warehouse_password")).json()["value"] == "hunter2"


@pytest.mark.parametrize("resource", resource_params())
def test_each_kind_of_action_needs_its_permission_before_anything_changes(client, resource):
    """403 for the whole request, naming every missing permission; create with overwrite edits."""
    resource_name = resource.plural.capitalize()
    role = fresh_name("bulk")
    create_role(client, role, API_ACCESS, ("can_create", resource_name))
    user = fresh_name("creator")
    create_user(client, user, role)
    resource.create(client, "old")
    auth = (user, PASSWORD)
    refused = bulk(client, resource, create(resource, "new"),
                   {"action": "delete", "entities": ["old"]}, auth=auth)
    detail = assert_problem(refused, 403, f"can_delete on {resource_name}")["detail"]
    assert "can_create" not in detail
    overwrite = bulk(client, resource, create(resource, "new", on_existence="overwrite"),
                     auth=auth)
    assert_problem(overwrite, 403, f"can_edit on {resource_name}")
    assert not {"new"} & set(stored(client, resource)) and "old" in stored(client, resource)
    assert result(bulk(client, resource, create(resource, "new"), auth=auth),
                  "create")["success"] == ["new"]


@pytest.mark.parametrize("body, status, words", [
    ({"actions": [{"action": "delete", "entities": ["a"]}] * 11}, 400, ["actions"]),
    ({"actions": [{"action": "delete", "entities": [f"k{i}" for i in range(1001)]}]}, 400,
     ["actions.0"]),
    ({"actions": []}, 400, ["actions"]),
    ({"actions": [{"action": "rename", "entities": ["a"]}]}, 400, ["actions.0"]),
    ({"actions": [{"action": "create", "entities": [{"key": "a"}]}]}, 400, ["actions.0"]),
    ({}, 422, ["actions"]),
], ids=["11-actions", "1001-entities", "no-action", "unknown-kind", "invalid-entity",
        "no-actions-field"])
def test_the_contract_limits(client, body, status, words):
    assert_problem(client.patch(VARIABLES.path, json=body), status, *words)


def test_each_kind_is_reported_once_with_its_actions_merged(client):
    response = bulk(client, VARIABLES, create(VARIABLES, "a"), create(VARIABLES, "b"),
                    create(VARIABLES, "a", on_existence="skip"))
    assert response.json() == {"create": {"success": ["a", "b"], "skipped": ["a"],
                                          "errors": []}}
    assert set(response.json()) == {"create"}
