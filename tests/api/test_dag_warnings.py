"""DAG warnings: problems found while parsing that do not stop a DAG from loading."""

from datetime import timedelta

import pytest

from tests.api.helpers import API, assert_problem
from tests.support.seed import EPOCH, add_dag, sample_dag
from windsock.db.engine import session
from windsock.db.models import DagWarning

WARNINGS = f"{API}/dagWarnings"
MISSING_POOL = "non-existent pool"


@pytest.fixture
def warned(migrated) -> None:
    for dag_id in ("alpha", "beta", "gamma"):
        add_dag(sample_dag(dag_id))
    with session() as sess:
        sess.add_all([
            DagWarning(dag_id="beta", warning_type=MISSING_POOL, message="beta uses 'big'.",
                       timestamp=EPOCH + timedelta(minutes=2)),
            DagWarning(dag_id="gamma", warning_type=MISSING_POOL, message="gamma uses 'x'.",
                       timestamp=EPOCH),
            DagWarning(dag_id="alpha", warning_type=MISSING_POOL, message="alpha uses 'y'.",
                       timestamp=EPOCH + timedelta(minutes=2)),
        ])


def dag_ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [warning["dag_id"] for warning in response.json()["dag_warnings"]]


def test_list_by_timestamp_then_dag(client, warned):
    response = client.get(WARNINGS)
    assert dag_ids(response) == ["gamma", "alpha", "beta"]
    assert response.json()["total_entries"] == 3
    assert response.json()["dag_warnings"][0] == {
        "dag_id": "gamma", "warning_type": MISSING_POOL, "message": "gamma uses 'x'.",
        "timestamp": "2026-01-01T00:00:00+00:00"}


@pytest.mark.parametrize("order_by, expected", [
    ("-timestamp", ["beta", "alpha", "gamma"]),
    ("dag_id", ["alpha", "beta", "gamma"]),
    ("-dag_id", ["gamma", "beta", "alpha"]),
    ("warning_type", ["alpha", "beta", "gamma"]),
    ("-warning_type", ["gamma", "beta", "alpha"]),
])
def test_list_orders(client, warned, order_by, expected):
    assert dag_ids(client.get(WARNINGS, params={"order_by": order_by})) == expected


def test_list_filters_by_dag_and_type(client, warned):
    assert dag_ids(client.get(WARNINGS, params={"dag_id": "beta"})) == ["beta"]
    both = client.get(WARNINGS, params={"dag_id": "beta", "warning_type": MISSING_POOL})
    assert dag_ids(both) == ["beta"]
    assert dag_ids(client.get(WARNINGS, params={"dag_id": "missing"})) == []
    assert dag_ids(client.get(WARNINGS, params={"warning_type": MISSING_POOL})) == [
        "gamma", "alpha", "beta"]


def test_unknown_warning_type_is_400(client, warned):
    assert_problem(client.get(WARNINGS, params={"warning_type": "haunted"}), 400,
                   "warning_type")


def test_list_pages(client, warned):
    page = client.get(WARNINGS, params={"limit": 1, "offset": 2})
    assert dag_ids(page) == ["beta"] and page.json()["total_entries"] == 3
    assert "prev" in page.headers["link"]


def test_list_rejects_an_unknown_order_field(client, warned):
    assert_problem(client.get(WARNINGS, params={"order_by": "severity"}), 400, "order_by")
