"""Permissions: every action × resource pair that exists, in a stable order, paged."""

from __future__ import annotations

from sqlalchemy import select

from tests.api.accounts import API_ACCESS, PERMISSIONS, create_role, pairs_of
from tests.api.helpers import assert_problem, links
from windsock.db.engine import session
from windsock.db.models import Action, Permission, Resource
from windsock.security.model import ACTIONS, RESOURCES, is_valid_pair


GLOBAL_PAIRS = {(a, r) for a in ACTIONS for r in RESOURCES if is_valid_pair(a, r)}


def stored_pairs() -> list[tuple[str, str]]:
    """Every permission row, by resource then action in the database's collation."""
    with session() as sess:
        return [tuple(row) for row in sess.execute(
            select(Action.name, Resource.name).select_from(Permission)
            .join(Action, Action.id == Permission.action_id)
            .join(Resource, Resource.id == Permission.resource_id)
            .order_by(Resource.name, Action.name))]


def every_page(client, limit: int) -> list[tuple[str, str]]:
    """The pairs on every page, following the `next` links from the first."""
    seen, url = [], f"{PERMISSIONS}?limit={limit}"
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.text
        assert response.json()["total_entries"] == len(stored_pairs())
        seen += pairs_of({"actions": response.json()["actions"]})
        url = links(response).get("next")
    return seen


def test_every_global_pair_of_the_model_is_listed(client):
    body = client.get(PERMISSIONS).json()
    listed = pairs_of(body)
    assert set(listed) == GLOBAL_PAIRS
    assert body["total_entries"] == len(GLOBAL_PAIRS)
    assert API_ACCESS in listed and ("can_delete", "Users") in listed
    # `name` repeats the action's name: Airflow 2's clients read each entry as an action
    assert body["actions"][0].keys() == {"name", "action", "resource"}
    assert all(item["name"] == item["action"]["name"] for item in body["actions"])


def test_the_order_is_resource_then_action_and_pages_are_stable(client):
    create_role(client, "Per DAG", ("can_read", "DAG:b_dag"), ("can_edit", "DAG:a_dag"))
    everything = every_page(client, limit=7)
    assert everything == stored_pairs()
    assert len(set(everything)) == len(everything) == len(GLOBAL_PAIRS) + 2
    resources = [resource for _, resource in everything]
    blocks = [r for i, r in enumerate(resources) if i == 0 or resources[i - 1] != r]
    assert len(blocks) == len(set(resources)), "each resource's pairs stand together"
    assert [a for a, r in everything if r == "Pools"] == [
        "can_create", "can_delete", "can_edit", "can_read"]


def test_paging_with_limit_and_offset(client):
    total = len(stored_pairs())
    page = client.get(PERMISSIONS, params={"limit": 3, "offset": 2})
    assert pairs_of(page.json()) == stored_pairs()[2:5]
    assert page.json()["total_entries"] == total
    assert set(links(page)) == {"next", "prev"}
    beyond = client.get(PERMISSIONS, params={"offset": total})
    assert beyond.json() == {"actions": [], "total_entries": total}


def test_limit_above_the_maximum_is_400(client):
    assert_problem(client.get(PERMISSIONS, params={"limit": 101}), 400, "'limit'", "maximum of 100")


def test_there_is_no_order_by(client):
    assert_problem(client.get(PERMISSIONS, params={"order_by": "action"}), 400, "order_by")
