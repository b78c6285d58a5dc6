"""Import errors: DAG files that failed to load, as the DAG processor recorded them."""

from datetime import timedelta

import pytest

from tests.api.helpers import API, assert_problem
from tests.support.seed import EPOCH
from windsock.db.engine import session
from windsock.db.models import ImportError

ERRORS = f"{API}/importErrors"


@pytest.fixture
def failures(migrated) -> list[int]:
    rows = [ImportError(filename=name, stack_trace=f"Traceback in {name}",
                        timestamp=EPOCH + timedelta(minutes=minutes))
            for name, minutes in (("/dags/b.py", 5), ("/dags/c.py", 1), ("/dags/a.py", 3))]
    with session() as sess:
        sess.add_all(rows)
        sess.flush()
        return [row.id for row in rows]


def filenames(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [error["filename"] for error in response.json()["import_errors"]]


def test_get_one(client, failures):
    response = client.get(f"{ERRORS}/{failures[0]}")
    assert response.status_code == 200
    assert response.json() == {"import_error_id": failures[0],
                               "timestamp": "2026-01-01T00:05:00+00:00",
                               "filename": "/dags/b.py", "stack_trace": "Traceback in /dags/b.py"}
    cached = client.get(f"{ERRORS}/{failures[0]}",
                        headers={"If-None-Match": response.headers["etag"]})
    assert cached.status_code == 304


def test_get_unknown_is_404(client, failures):
    assert_problem(client.get(f"{ERRORS}/999999"), 404, "999999")


def test_list_by_id_with_the_total(client, failures):
    response = client.get(ERRORS)
    assert filenames(response) == ["/dags/b.py", "/dags/c.py", "/dags/a.py"]
    assert response.json()["total_entries"] == 3
    page = client.get(ERRORS, params={"limit": 1, "offset": 1})
    assert filenames(page) == ["/dags/c.py"] and page.json()["total_entries"] == 3


@pytest.mark.parametrize("order_by, expected", [
    ("-import_error_id", ["/dags/a.py", "/dags/c.py", "/dags/b.py"]),
    ("timestamp", ["/dags/c.py", "/dags/a.py", "/dags/b.py"]),
    ("-timestamp", ["/dags/b.py", "/dags/a.py", "/dags/c.py"]),
    ("filename", ["/dags/a.py", "/dags/b.py", "/dags/c.py"]),
    ("-filename", ["/dags/c.py", "/dags/b.py", "/dags/a.py"]),
])
def test_list_orders(client, failures, order_by, expected):
    assert filenames(client.get(ERRORS, params={"order_by": order_by})) == expected


def test_list_rejects_an_unknown_order_field(client, failures):
    assert_problem(client.get(ERRORS, params={"order_by": "stack_trace"}), 400, "order_by")


def test_empty_list(client, migrated):
    assert client.get(ERRORS).json() == {"import_errors": [], "total_entries": 0}
