"""Roles: the built-in roles as the model defines them and their protection; custom roles made of
the model's pairs (per-DAG ones too), renamed, changed and deleted; conditional requests."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from jsonschema import Draft4Validator

from tests.api.accounts import (API_ACCESS, PASSWORD, PERMISSIONS, ROLES, actions,
                                assert_conditional_requests, assert_missing_everywhere,
                                create_role, create_user, fresh_name, pairs_of)
from tests.api.helpers import API, assert_problem, links, spec
from windsock.impl.role import permission_body
from windsock.security.model import (ACTIONS, BUILT_IN_ROLES, RESOURCES, built_in_roles,
                                     is_valid_pair)


DAG_READER = ("can_read", "DAG:example_xcom_chain")
POOL_PAIRS = (("can_read", "Pools"), ("can_edit", "Pools"))


def url(name: str) -> str:
    return f"{ROLES}/{quote(name, safe='')}"


def names(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [role["name"] for role in response.json()["roles"]]


def in_answer_order(pairs) -> list[tuple[str, str]]:
    """Pairs as answers list them: by resource, then action."""
    return sorted(pairs, key=lambda pair: (pair[1], pair[0]))


# The built-in roles


def test_the_built_in_roles_hold_exactly_the_models_permissions(client):
    listed = {role["name"]: role for role in client.get(ROLES).json()["roles"]}
    assert set(listed) == set(BUILT_IN_ROLES)
    for name, pairs in built_in_roles().items():
        assert pairs_of(listed[name]) == in_answer_order(pairs), name
        assert client.get(url(name)).json() == listed[name]


@pytest.mark.parametrize("name", BUILT_IN_ROLES)
@pytest.mark.parametrize("change", [{"actions": []}, {"name": "Renamed"},
                                    {"actions": [], "name": "Renamed"}],
                         ids=["actions", "name", "both"])
def test_a_built_in_role_cannot_be_changed(client, name, change):
    before = client.get(url(name)).json()
    response = client.patch(url(name), json=change)
    assert_problem(response, 409, name, "built-in", "synced", "migrate", "custom role")
    assert client.get(url(name)).json() == before
    assert_problem(client.get(url("Renamed")), 404)


@pytest.mark.parametrize("name", BUILT_IN_ROLES)
def test_a_built_in_role_cannot_be_deleted(client, name):
    assert_problem(client.delete(url(name)), 409, name, "built-in", "custom role")
    assert client.get(url(name)).status_code == 200


def test_a_built_in_name_cannot_be_taken(client):
    assert_problem(client.post(ROLES, json={"name": "Op", "actions": []}), 409, "'Op'")
    create_role(client, "Mine")
    assert_problem(client.patch(url("Mine"), json={"name": "Viewer"}), 409, "'Viewer'")


# Creating and reading


def test_create_is_201_with_location_and_etag(client):
    response = client.post(ROLES, json={"name": "Data Engineers",
                                        "actions": actions(*POOL_PAIRS, API_ACCESS)})
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"{ROLES}/Data%20Engineers"
    created = response.json()
    assert created["name"] == "Data Engineers"
    assert pairs_of(created) == [API_ACCESS, ("can_edit", "Pools"), ("can_read", "Pools")]
    fetched = client.get(response.headers["location"])
    assert fetched.json() == created
    assert fetched.headers["etag"] == response.headers["etag"]


def test_a_role_may_grant_nothing(client):
    assert create_role(client, "Nobody")["actions"] == []


def test_create_duplicate_is_409(client):
    create_role(client, "Twice")
    assert_problem(client.post(ROLES, json={"name": "Twice", "actions": []}), 409, "'Twice'")


@pytest.mark.parametrize("pair, status, words", [
    (("can_access", "Pools"), 422, ["'actions.1'", "'can_access' applies to the 'API' resource only"]),
    (("can_access", "DAG:example_xcom_chain"), 422, ["'actions.1'", "'can_access'"]),
    (("can_read", "API"), 422, ["'actions.1'", "'API' resource takes 'can_access' only"]),
    (("can_fly", "DAGs"), 400, ["'can_fly'", "actions.1.action.name"]),
    (("can_read", "Nowhere"), 400, ["'Nowhere'", "actions.1.resource.name"]),
    (("can_read", "DAG:has space"), 400, ["actions.1.resource.name"]),
    (("can_read", "DAG:"), 400, ["actions.1.resource.name"]),
])
def test_a_pair_outside_the_model_is_refused_naming_it(client, pair, status, words):
    body = {"name": "Bad", "actions": actions(("can_read", "Pools"), pair)}
    assert_problem(client.post(ROLES, json=body), status, *words)
    assert_problem(client.get(url("Bad")), 404)


def test_the_contract_accepts_exactly_the_pairs_of_the_model():
    document = spec()
    schema = {**document["components"]["schemas"]["ActionResource"],
              "components": document["components"]}
    contract = Draft4Validator(schema)
    resources = [*RESOURCES, "Nowhere", "dags", "DAG:", "DAG:has space", "DAG:example_xcom_chain",
                 f"DAG:{'d' * 250}", f"DAG:{'d' * 251}"]
    for action in (*ACTIONS, "can_fly"):
        for resource in resources:
            assert contract.is_valid(permission_body(action, resource)) == is_valid_pair(
                action, resource), (action, resource)


@pytest.mark.parametrize("body, status, word", [
    ({"name": "No Actions"}, 422, "actions"),
    ({"actions": []}, 422, "name"),
    ({"name": "two  spaces", "actions": []}, 400, "name"),
    ({"name": "x" * 65, "actions": []}, 400, "name"),
    ({"name": "Loose", "actions": [{"action": "can_read", "resource": "Pools"}]}, 400, "actions"),
    ({"name": "Extra", "actions": [], "colour": "red"}, 400, "colour"),
])
def test_malformed_bodies_are_rejected(client, body, status, word):
    assert_problem(client.post(ROLES, json=body), status, word)


def test_a_pair_listed_twice_counts_once(client):
    role = create_role(client, "Twice Over", *POOL_PAIRS, *POOL_PAIRS, POOL_PAIRS[0])
    assert pairs_of(role) == in_answer_order(POOL_PAIRS)


def test_a_per_dag_pair_is_accepted_and_becomes_a_permission(client):
    assert DAG_READER not in pairs_of(client.get(PERMISSIONS, params={"limit": 100}).json())
    role = create_role(client, "XCom Readers", API_ACCESS, DAG_READER)
    assert pairs_of(role) == [API_ACCESS, DAG_READER]
    listed = client.get(PERMISSIONS, params={"limit": 100}).json()
    assert DAG_READER in pairs_of(listed)


def test_unknown_is_404_naming_it(client):
    assert_missing_everywhere(client, url("Ghosts"), "Ghosts", {"actions": []})


def test_conditional_requests(client):
    create_role(client, "Guarded")
    assert_conditional_requests(client, url("Guarded"), {"actions": actions(API_ACCESS)})


# Changing


def test_actions_replace_the_whole_list(client):
    create_role(client, "Pool Keepers", *POOL_PAIRS)
    response = client.patch(url("Pool Keepers"), json={"actions": actions(API_ACCESS,
                                                                           DAG_READER)})
    assert response.status_code == 200
    assert pairs_of(response.json()) == [API_ACCESS, DAG_READER]
    fetched = client.get(url("Pool Keepers"))
    assert fetched.json() == response.json()
    assert fetched.headers["etag"] == response.headers["etag"]


def test_an_invalid_pair_in_a_patch_is_422_and_changes_nothing(client):
    before = create_role(client, "Pool Keepers", *POOL_PAIRS)
    response = client.patch(url("Pool Keepers"),
                            json={"name": "Renamed", "actions": actions(("can_fly", "DAGs"))})
    assert_problem(response, 400, "'can_fly'")
    assert client.get(url("Pool Keepers")).json() == before


def test_rename(client):
    created = create_role(client, "Old Name", *POOL_PAIRS)
    response = client.patch(url("Old Name"), json={"name": "New Name"})
    assert response.json() == {**created, "name": "New Name"}
    assert client.get(url("New Name")).json() == response.json()
    assert_problem(client.get(url("Old Name")), 404)


def test_rename_to_a_taken_name_is_409(client):
    create_role(client, "Other")
    before = create_role(client, "Mine", *POOL_PAIRS)
    response = client.patch(url("Mine"), json={"name": "Other", "actions": []})
    assert_problem(response, 409, "'Other'")
    assert client.get(url("Mine")).json() == before


def test_update_mask_applies_only_the_named_fields(client):
    create_role(client, "Masked", *POOL_PAIRS)
    response = client.patch(url("Masked"), params={"update_mask": "name"},
                            json={"name": "Still Pools", "actions": []})
    assert response.json()["name"] == "Still Pools"
    assert pairs_of(response.json()) == in_answer_order(POOL_PAIRS)
    assert_problem(client.patch(url("Still Pools"), params={"update_mask": "name,actions"},
                                json={"name": "X"}), 400, "actions")


def test_a_changed_role_changes_what_its_users_may_do_at_once(client):
    username = fresh_name("pia")
    create_role(client, "Pool Readers", API_ACCESS)
    create_user(client, username, "Pool Readers")
    me = (username, PASSWORD)
    assert_problem(client.get(f"{API}/pools", auth=me), 403, "can_read on Pools")
    client.patch(url("Pool Readers"), json={"actions": actions(API_ACCESS, *POOL_PAIRS)})
    assert client.get(f"{API}/pools", auth=me).status_code == 200


# Deleting


def test_delete_is_204_then_404_and_takes_the_role_from_its_users(client):
    username = fresh_name("pia")
    create_role(client, "Pool Readers", API_ACCESS, *POOL_PAIRS)
    create_user(client, username, "Pool Readers", "Viewer")
    me = (username, PASSWORD)
    assert client.get(f"{API}/pools", auth=me).status_code == 200
    response = client.delete(url("Pool Readers"))
    assert response.status_code == 204 and response.content == b""
    assert_problem(client.get(url("Pool Readers")), 404)
    assert client.get(f"{API}/users/{username}").json()["roles"] == [{"name": "Viewer"}]
    assert_problem(client.get(f"{API}/pools", auth=me), 403)
    # The permissions stay: other roles may hold them.
    assert ("can_read", "Pools") in pairs_of(client.get(PERMISSIONS).json())


# Listing


def test_list_pages_with_total_entries_and_links(client):
    for name in ("r3", "r1", "r5", "r2", "r4"):
        create_role(client, name)
    total = 5 + len(BUILT_IN_ROLES)
    page = client.get(ROLES, params={"limit": 2, "offset": 1, "order_by": "-name"})
    assert page.json()["total_entries"] == total
    assert names(page) == ["r4", "r3"]
    assert set(links(page)) == {"next", "prev"}
    every = names(client.get(ROLES))
    assert len(every) == total
    assert [name for name in every if name.startswith("r")] == ["r1", "r2", "r3", "r4", "r5"]
    assert "link" not in client.get(ROLES).headers


def test_list_rejects_an_unknown_order_field(client):
    assert_problem(client.get(ROLES, params={"order_by": "actions"}), 400, "order_by",
                   "'actions'")
