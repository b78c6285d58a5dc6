"""Event logs: the audit trail that mutating API calls leave, and reading it with filters."""

import json
from datetime import timedelta

import pytest

from tests.api.helpers import API, VARIABLES, assert_problem
from tests.support import queries
from tests.support.seed import EPOCH, add_dag, add_run, sample_dag
from windsock.db.engine import session
from windsock.db.models import EventLog

LOGS = f"{API}/eventLogs"


def add_entries(*entries: dict) -> list[int]:
    """Store event log rows; each dict gives columns, `minutes` after EPOCH gives `dttm`."""
    rows = [EventLog(dttm=EPOCH + timedelta(minutes=e.pop("minutes", 0)), **e) for e in entries]
    with session() as sess:
        sess.add_all(rows)
        sess.flush()
        return [row.id for row in rows]


def events(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [entry["event"] for entry in response.json()["event_logs"]]


@pytest.fixture
def trail(migrated) -> list[int]:
    return add_entries(
        {"event": "trigger", "minutes": 0, "dag_id": "export", "run_id": "manual_1",
         "owner": "admin", "execution_date": EPOCH},
        {"event": "clear", "minutes": 10, "dag_id": "export", "run_id": "manual_1",
         "task_id": "extract", "map_index": -1, "try_number": 1, "owner": "ops"},
        {"event": "cli_task_run", "minutes": 20, "dag_id": "export", "run_id": "manual_1",
         "task_id": "load", "map_index": -1, "try_number": 2, "owner": "scheduler"},
        {"event": "paused", "minutes": 30, "dag_id": "sync", "owner": "admin",
         "extra": '{"is_paused": true}'},
        {"event": "login", "minutes": 40},
    )


def test_get_one_entry(client, trail):
    response = client.get(f"{LOGS}/{trail[0]}")
    assert response.status_code == 200
    assert response.json() == {
        "event_log_id": trail[0], "when": "2026-01-01T00:00:00+00:00", "dag_id": "export",
        "task_id": None, "run_id": "manual_1", "map_index": None, "try_number": None,
        "event": "trigger", "execution_date": "2026-01-01T00:00:00+00:00", "owner": "admin",
        "extra": None,
    }
    cached = client.get(f"{LOGS}/{trail[0]}", headers={"If-None-Match": response.headers["etag"]})
    assert cached.status_code == 304


def test_get_unknown_entry_is_404(client, trail):
    assert_problem(client.get(f"{LOGS}/999999"), 404, "999999")
    assert_problem(client.get(f"{LOGS}/abc"), 404)  # no route matches a non-numeric id


def test_list_is_by_id_with_the_total(client, trail):
    response = client.get(LOGS)
    assert events(response) == ["trigger", "clear", "cli_task_run", "paused", "login"]
    assert response.json()["total_entries"] == 5
    assert response.json()["event_logs"][1]["when"] == "2026-01-01T00:10:00+00:00"
    page = client.get(LOGS, params={"limit": 2, "offset": 2})
    assert events(page) == ["cli_task_run", "paused"]
    assert page.json()["total_entries"] == 5


@pytest.mark.parametrize("params, expected", [
    ({"dag_id": "export"}, ["trigger", "clear", "cli_task_run"]),
    ({"dag_id": "~"}, ["trigger", "clear", "cli_task_run", "paused", "login"]),
    ({"task_id": "load"}, ["cli_task_run"]),
    ({"run_id": "manual_1"}, ["trigger", "clear", "cli_task_run"]),
    ({"map_index": -1}, ["clear", "cli_task_run"]),
    ({"try_number": 2}, ["cli_task_run"]),
    ({"event": "paused"}, ["paused"]),
    ({"owner": "admin"}, ["trigger", "paused"]),
    ({"before": "2026-01-01T00:20:00+00:00"}, ["trigger", "clear"]),
    ({"after": "2026-01-01T00:20:00Z"}, ["paused", "login"]),
    ({"after": "2026-01-01T01:15:00+01:00", "before": "2026-01-01T00:30:00+00:00"},
     ["cli_task_run"]),
    ({"included_events": "clear,paused"}, ["clear", "paused"]),
    ({"excluded_events": "cli_task_run,login"}, ["trigger", "clear", "paused"]),
    ({"included_events": "clear,paused", "excluded_events": "paused"}, ["clear"]),
    ({"dag_id": "export", "owner": "ops", "event": "clear"}, ["clear"]),
    ({"dag_id": "nothing"}, []),
])
def test_list_filters(client, trail, params, expected):
    response = client.get(LOGS, params=params)
    assert events(response) == expected
    assert response.json()["total_entries"] == len(expected)


@pytest.mark.parametrize("name", ["before", "after"])
@pytest.mark.parametrize("value", ["2026-01-01T00:20:00", "yesterday"])
def test_naive_or_malformed_moments_are_400(client, trail, name, value):
    assert_problem(client.get(LOGS, params={name: value}), 400, name)


@pytest.mark.parametrize("order_by, expected", [
    ("-event_log_id", ["login", "paused", "cli_task_run", "clear", "trigger"]),
    ("-when", ["login", "paused", "cli_task_run", "clear", "trigger"]),
    ("event", ["clear", "cli_task_run", "login", "paused", "trigger"]),
    ("-event", ["trigger", "paused", "login", "cli_task_run", "clear"]),
    # Missing values last ascending, first descending; ties by id in the same direction.
    ("dag_id", ["trigger", "clear", "cli_task_run", "paused", "login"]),
    ("-dag_id", ["login", "paused", "cli_task_run", "clear", "trigger"]),
    ("task_id", ["clear", "cli_task_run", "trigger", "paused", "login"]),
    ("-task_id", ["login", "paused", "trigger", "cli_task_run", "clear"]),
    ("owner", ["trigger", "paused", "clear", "cli_task_run", "login"]),
    ("-owner", ["login", "cli_task_run", "clear", "paused", "trigger"]),
])
def test_list_orders(client, trail, order_by, expected):
    assert events(client.get(LOGS, params={"order_by": order_by})) == expected


def test_list_orders_by_when_not_by_id(client, migrated):
    add_entries({"event": "late", "minutes": 5}, {"event": "early", "minutes": 1})
    assert events(client.get(LOGS, params={"order_by": "when"})) == ["early", "late"]


def test_list_rejects_an_unknown_order_field(client, trail):
    assert_problem(client.get(LOGS, params={"order_by": "map_index"}), 400, "order_by")


def test_list_costs_the_same_queries_whatever_the_number_of_entries(client, migrated):
    add_entries({"event": "one"})
    with queries.statements() as few:
        client.get(LOGS)
    add_entries(*({"event": f"e{n}"} for n in range(20)))
    with queries.statements() as many:
        assert len(events(client.get(LOGS))) == 21
    assert len(many) == len(few)


# The trail that API calls leave


def all_entries(client) -> list[dict]:
    return client.get(LOGS).json()["event_logs"]


def test_patching_a_dag_leaves_one_entry(client, migrated):
    add_dag(sample_dag("export"))
    assert client.patch(f"{API}/dags/export", json={"is_paused": True}).status_code == 200
    [entry] = all_entries(client)
    assert entry["event"] == "patch_dag"
    assert entry["owner"] == "admin"
    assert entry["dag_id"] == "export"
    assert entry["run_id"] is None and entry["task_id"] is None
    assert json.loads(entry["extra"])["body"] == {"is_paused": True}


def test_a_sensitive_value_is_masked_in_the_entry(client, migrated):
    VARIABLES.create(client, "warehouse_password", value="hunter2")
    [entry] = all_entries(client)
    assert entry["event"] == "post_variables" and entry["owner"] == "admin"
    assert entry["dag_id"] is None
    assert "hunter2" not in entry["extra"]
    assert json.loads(entry["extra"])["body"]["value"] == "***"


def test_failed_and_read_only_calls_leave_no_entry(client, migrated):
    assert client.patch(f"{API}/dags/missing", json={"is_paused": True}).status_code == 404
    assert client.patch(VARIABLES.url("missing"), json={"value": "x"}).status_code == 404
    assert client.get(f"{API}/dags").status_code == 200
    assert client.get(LOGS).json() == {"event_logs": [], "total_entries": 0}


def test_dry_runs_leave_no_entry_and_real_changes_do(client, migrated):
    dag = sample_dag()
    add_dag(dag)
    add_run(dag, "r1", states={"extract": "failed"})
    base = f"{API}/dags/{dag.dag_id}"
    assert client.post(f"{base}/clearTaskInstances", json={}).status_code == 200  # dry by default
    assert client.post(f"{base}/dagRuns/r1/clear", json={"dry_run": True}).status_code == 200
    assert client.patch(f"{base}/dagRuns/r1/taskInstances/extract",
                        json={"new_state": "success", "dry_run": True}).status_code == 200
    assert events(client.get(LOGS)) == []
    assert client.patch(f"{base}/dagRuns/r1/taskInstances/extract",
                        json={"new_state": "success"}).status_code == 200  # not dry by default
    assert client.post(f"{base}/clearTaskInstances",
                       json={"dry_run": False, "only_failed": False}).status_code == 200
    assert events(client.get(LOGS)) == ["patch_task_instance", "post_clear_task_instances"]
