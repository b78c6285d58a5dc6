"""Backfills through the API: the dry run, creating, listing, reading, pausing, unpausing and
cancelling, the 4xx answers for what cannot be backfilled, the audit trail and per-DAG access.
What the scheduler makes of a backfill is in tests/scheduler/test_backfills.py."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from tests.api.helpers import API, assert_problem, links
from tests.support.seed import add_dag, add_run, sample_dag
from windsock import DAG, ShellTask
from windsock.db.engine import session
from windsock.db.models import Backfill, Dag, DagRun, EventLog, Role, User
from windsock.security.model import ACCESS, API as API_RESOURCE, CREATE, EDIT, READ, dag_resource
from windsock.security.passwords import hash_password
from windsock.security.roles import permissions

BACKFILLS = f"{API}/backfills"
DRY_RUN = f"{BACKFILLS}/dry_run"
DAG_ID = "backfilled"
DAY = timedelta(days=1)
FIRST = datetime(2026, 3, 1, tzinfo=timezone.utc)
WEEK = [FIRST + n * DAY for n in range(7)]


def iso(moment: datetime) -> str:
    return moment.isoformat()


def body(**fields) -> dict:
    return {"dag_id": DAG_ID, "from_date": iso(WEEK[0]), "to_date": iso(WEEK[-1]), **fields}


@pytest.fixture
def daily(migrated):
    """A daily DAG (start 2026-01-01) with an integer param `batch_size` (minimum 1)."""
    dag = sample_dag(DAG_ID, schedule="@daily")
    add_dag(dag)
    return dag


def create(client, **fields) -> dict:
    response = client.post(BACKFILLS, json=body(**fields))
    assert response.status_code == 201, response.text
    return response.json()


def planned(client, **fields) -> list[str]:
    response = client.post(DRY_RUN, json=body(**fields))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["total_entries"] == len(answer["backfills"])
    return [item["logical_date"] for item in answer["backfills"]]


def backfill_rows() -> int:
    with session() as sess:
        return sess.scalar(select(func.count()).select_from(Backfill))


def events(name: str) -> int:
    with session() as sess:
        return sess.scalar(select(func.count()).where(EventLog.event == name))


# --- the dry run --------------------------------------------------------------------------------

def test_a_dry_run_lists_the_logical_dates_in_order_and_creates_nothing(client, daily):
    assert planned(client) == [iso(d) for d in WEEK]
    assert planned(client, run_backwards=True) == [iso(d) for d in reversed(WEEK)]
    # Dates are logical dates of the schedule: an instant between two is not one.
    assert planned(client, from_date=iso(WEEK[0] + timedelta(hours=1)),
                   to_date=iso(WEEK[2] + timedelta(hours=1))) == [iso(WEEK[1]), iso(WEEK[2])]
    assert backfill_rows() == 0
    assert events("create_backfill_dry_run") == 0


@pytest.mark.parametrize("behavior, kept", [
    ("none", {"success", "failed", "running"}),
    ("failed", {"success", "running"}),
    ("completed", {"running"}),
])
def test_existing_runs_are_rerun_as_reprocess_behavior_says(client, daily, behavior, kept):
    existing = {"success": WEEK[1], "failed": WEEK[3], "running": WEEK[5]}
    for state, moment in existing.items():
        add_run(daily, f"old_{state}", state=state, logical_date=moment, run_type="scheduled")

    dates = planned(client, reprocess_behavior=behavior)

    assert dates == [iso(d) for d in WEEK if d not in {existing[state] for state in kept}]


# --- creating and reading -----------------------------------------------------------------------

def test_a_backfill_is_created_read_and_listed(client, daily):
    response = client.post(BACKFILLS, json=body(
        reprocess_behavior="failed", max_active_runs=2, run_backwards=True,
        dag_run_conf={"batch_size": 5, "extra": "kept"}))
    assert response.status_code == 201, response.text
    created = response.json()
    assert created == {
        "id": created["id"], "dag_id": DAG_ID, "from_date": iso(WEEK[0]),
        "to_date": iso(WEEK[-1]), "run_backwards": True,
        "dag_run_conf": {"batch_size": 5, "extra": "kept"}, "is_paused": False,
        "reprocess_behavior": "failed", "max_active_runs": 2,
        "created_at": created["created_at"], "completed_at": None,
        "updated_at": created["updated_at"]}
    assert response.headers["location"].endswith(f"{BACKFILLS}/{created['id']}")
    read = client.get(f"{BACKFILLS}/{created['id']}")
    assert read.json() == created and read.headers["etag"] == response.headers["etag"]
    assert client.get(f"{BACKFILLS}/{created['id']}",
                      headers={"If-None-Match": read.headers["etag"]}).status_code == 304
    assert events("create_backfill") == 1


def test_defaults_and_params_fill_the_conf(client, daily):
    created = create(client)
    assert (created["reprocess_behavior"], created["max_active_runs"], created["run_backwards"],
            created["dag_run_conf"]) == ("none", 10, False, {"batch_size": 10})


def test_the_list_is_paged_sorted_and_filtered_by_dag(client, daily):
    other = sample_dag("other_daily", schedule="@daily")
    add_dag(other)
    ids = [create(client)["id"], create(client, dag_id="other_daily")["id"]]

    page = client.get(BACKFILLS, params={"limit": 1, "order_by": "-id"})
    assert page.status_code == 200, page.text
    assert page.json()["total_entries"] == 2
    assert [b["id"] for b in page.json()["backfills"]] == [ids[1]]
    assert "next" in links(page)
    only = client.get(BACKFILLS, params={"dag_id": "other_daily"}).json()
    assert [b["id"] for b in only["backfills"]] == [ids[1]] and only["total_entries"] == 1


# --- what cannot be backfilled ------------------------------------------------------------------

def test_an_unknown_dag_is_404(client, daily):
    assert_problem(client.post(BACKFILLS, json=body(dag_id="missing")), 404, "'missing'")
    assert_problem(client.post(DRY_RUN, json=body(dag_id="missing")), 404, "'missing'")


@pytest.mark.parametrize("fields, words", [
    ({"from_date": iso(WEEK[3]), "to_date": iso(WEEK[1])}, ("from_date", "after to_date")),
    ({"from_date": "2999-01-01T00:00:00+00:00", "to_date": "2999-01-02T00:00:00+00:00"},
     ("in the future",)),
    ({"from_date": "2025-01-01T00:00:00+00:00", "to_date": "2025-06-01T00:00:00+00:00"},
     ("no logical date", "start and end dates")),
    ({"dag_run_conf": {"batch_size": 0}}, ("dag_run_conf", "batch_size")),
], ids=["from-after-to", "future", "before-the-dag-starts", "conf-against-params"])
def test_dates_and_conf_the_dag_does_not_allow_are_422(client, daily, fields, words):
    for path in (BACKFILLS, DRY_RUN):
        assert_problem(client.post(path, json=body(**fields)), 422, *words)
    assert backfill_rows() == 0


def test_a_dag_without_a_time_based_schedule_or_with_too_many_dates_is_422(client, migrated):
    add_dag(sample_dag("manual_only"))
    with DAG("every_minute", schedule="* * * * *", start_date=FIRST) as dag:
        ShellTask("only", "true")
    dag.fileloc = "/dags/every_minute.py"
    add_dag(dag)

    assert_problem(client.post(BACKFILLS, json=body(dag_id="manual_only")), 422,
                   "no time-based schedule")
    assert_problem(client.post(BACKFILLS, json=body(dag_id="every_minute",
                                                    to_date=iso(FIRST + 10 * DAY))), 422,
                   "more than 10000 logical dates")
    assert backfill_rows() == 0


@pytest.mark.parametrize("fields", [{"max_active_runs": 0}, {"max_active_runs": 1001},
                                    {"reprocess_behavior": "all"}, {"from_date": "yesterday"},
                                    {"from_date": "2026-03-01T00:00:00"}, {"unknown": 1}])
def test_malformed_bodies_are_400(client, daily, fields):
    assert_problem(client.post(BACKFILLS, json=body(**fields)), 400)
    assert backfill_rows() == 0


def test_a_dag_whose_file_fails_to_import_is_422_of_its_own_type(client, daily):
    with session() as sess:
        sess.get(Dag, DAG_ID).has_import_errors = True
    problem = assert_problem(client.post(BACKFILLS, json=body()), 422, "fails to import")
    assert problem["type"].endswith("#dag-has-import-errors")


def test_a_second_active_backfill_of_a_dag_is_409_until_the_first_completes(client, daily):
    first = create(client)
    assert_problem(client.post(BACKFILLS, json=body()), 409, str(first["id"]), "not completed")
    assert planned(client)  # a dry run is still answered
    client.put(f"{BACKFILLS}/{first['id']}/cancel")
    assert create(client)["id"] != first["id"]


# --- pausing and cancelling ---------------------------------------------------------------------

def test_pause_unpause_and_cancel(client, daily):
    backfill_id = create(client)["id"]
    url = f"{BACKFILLS}/{backfill_id}"
    queued = add_run(daily, "backfill_queued", state="queued", logical_date=WEEK[0],
                     run_type="backfill")
    running = add_run(daily, "backfill_running", state="running", logical_date=WEEK[1],
                      run_type="backfill", states={"extract": "running"})
    with session() as sess:
        for run in (queued, running):
            sess.get(DagRun, run.id).backfill_id = backfill_id

    paused = client.put(f"{url}/pause")
    assert paused.status_code == 200 and paused.json()["is_paused"] is True
    assert client.put(f"{url}/pause").json()["is_paused"] is True
    assert client.put(f"{url}/unpause").json()["is_paused"] is False
    cancelled = client.put(f"{url}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["is_paused"] is True and cancelled.json()["completed_at"]
    with session() as sess:
        states = dict(sess.execute(select(DagRun.run_id, DagRun.state)
                                   .where(DagRun.backfill_id == backfill_id)).all())
    assert states == {"backfill_queued": "failed", "backfill_running": "running"}
    run = client.get(f"{API}/dags/{DAG_ID}/dagRuns/backfill_running").json()
    assert (run["backfill_id"], run["run_type"]) == (backfill_id, "backfill")
    add_run(daily, "manual_run", logical_date=WEEK[2])
    # absent, not null, from other runs: SDKs of contract 1.0.0 may refuse fields they do not know
    assert "backfill_id" not in client.get(f"{API}/dags/{DAG_ID}/dagRuns/manual_run").json()
    for action in ("pause", "unpause", "cancel"):
        assert_problem(client.put(f"{url}/{action}"), 409, "already completed")
    assert [events(f"{action}_backfill") for action in ("pause", "unpause", "cancel")] == [
        2, 1, 1]


def test_a_missing_backfill_is_404(client, migrated):
    assert_problem(client.get(f"{BACKFILLS}/4711"), 404, "Backfill 4711")
    for action in ("pause", "unpause", "cancel"):
        assert_problem(client.put(f"{BACKFILLS}/4711/{action}"), 404, "Backfill 4711")


# --- per-DAG access -----------------------------------------------------------------------------

def test_per_dag_grants_reach_only_their_dag(client, daily):
    add_dag(sample_dag("hidden", schedule="@daily"))
    shown_id = create(client)["id"]
    client.put(f"{BACKFILLS}/{shown_id}/cancel")
    hidden_id = create(client, dag_id="hidden")["id"]
    role = Role(name="backfiller")
    with session() as sess:
        role.permissions = permissions(sess, {
            (ACCESS, API_RESOURCE), (READ, "DAG Runs"), (CREATE, "DAG Runs"), (EDIT, "DAG Runs"),
            (READ, dag_resource(DAG_ID)), (CREATE, dag_resource(DAG_ID)),
            (EDIT, dag_resource(DAG_ID)), (READ, dag_resource("hidden"))})
        sess.add(User(username="backfiller", email="backfiller@example.org", active=True,
                      password_hash=hash_password("backfiller-password"), roles=[role]))
    client.auth = ("backfiller", "backfiller-password")

    assert create(client)["dag_id"] == DAG_ID
    assert_problem(client.post(BACKFILLS, json=body(dag_id="hidden", from_date=iso(WEEK[0]))),
                   403, "can_create on DAGs", "'hidden'")
    assert client.get(f"{BACKFILLS}/{hidden_id}").status_code == 200
    assert_problem(client.put(f"{BACKFILLS}/{hidden_id}/pause"), 403, "can_edit on DAGs")
    with session() as sess:
        role = sess.scalar(select(Role).where(Role.name == "backfiller"))
        role.permissions = [p for p in role.permissions
                            if p.resource.name != dag_resource("hidden")]
    # (permissions are cached for a moment in each process; this one forgets them on commit)
    listed = client.get(BACKFILLS).json()
    assert {b["dag_id"] for b in listed["backfills"]} == {DAG_ID}
    assert listed["total_entries"] == 2
    assert_problem(client.get(f"{BACKFILLS}/{hidden_id}"), 404, f"Backfill {hidden_id}")
