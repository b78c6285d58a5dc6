"""Monitoring: GET /health (no authentication) and GET /version."""

from datetime import datetime, timedelta, timezone

import pytest

import windsock
from tests.api.helpers import API, assert_problem
from windsock.db.engine import session
from windsock.db.models import Job

SCHEDULER_NEVER_RAN = {"status": "unhealthy", "latest_scheduler_heartbeat": None}
THRESHOLD = 30  # [scheduler] health_check_threshold's default


def add_scheduler_job(seconds_ago: float, state: str = "running") -> datetime:
    """A scheduler job whose latest heartbeat was `seconds_ago`; that heartbeat."""
    beat = datetime.now(timezone.utc) - timedelta(seconds=seconds_ago)
    with session() as sess:
        sess.add(Job(job_type="scheduler", state=state, hostname="here", pid=1,
                     start_date=beat - timedelta(hours=1), latest_heartbeat=beat))
    return beat


def scheduler_health(client) -> tuple[str, datetime | None]:
    response = client.get(f"{API}/health", auth=None)
    assert response.status_code == 200
    scheduler = response.json()["scheduler"]
    beat = scheduler["latest_scheduler_heartbeat"]
    return scheduler["status"], beat and datetime.fromisoformat(beat)


def test_health_needs_no_credentials_and_reports_a_healthy_database(client):
    response = client.get(f"{API}/health", auth=None)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body.pop("experimental_api")["enabled"] is False
    assert body == {"metadatabase": {"status": "healthy"}, "scheduler": SCHEDULER_NEVER_RAN}


def test_an_answer_is_reused_for_the_configured_time(client, monkeypatch):
    monkeypatch.setenv("WINDSOCK__API__HEALTH_CACHE_SECONDS", "300")
    assert scheduler_health(client) == ("unhealthy", None)  # probed, and kept
    add_scheduler_job(seconds_ago=1)
    assert scheduler_health(client) == ("unhealthy", None)
    monkeypatch.setenv("WINDSOCK__API__HEALTH_CACHE_SECONDS", "0")
    assert scheduler_health(client)[0] == "healthy"


def test_a_cross_origin_health_check_gets_its_cors_headers(client, monkeypatch):
    monkeypatch.setenv("WINDSOCK__API__ACCESS_CONTROL_ALLOW_ORIGINS", "https://ui.example")
    response = client.get(f"{API}/health", auth=None, headers={"Origin": "https://ui.example"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://ui.example"
    assert response.json()["metadatabase"] == {"status": "healthy"}


def test_scheduler_is_healthy_while_its_newest_heartbeat_is_within_the_threshold(client):
    add_scheduler_job(seconds_ago=THRESHOLD * 3)  # an older scheduler, long gone
    beat = add_scheduler_job(seconds_ago=THRESHOLD - 5)
    assert scheduler_health(client) == ("healthy", beat)


@pytest.mark.parametrize("state", ["running", "success"])
def test_scheduler_is_unhealthy_when_its_newest_heartbeat_is_stale(client, state):
    beat = add_scheduler_job(seconds_ago=THRESHOLD + 5, state=state)
    assert scheduler_health(client) == ("unhealthy", beat)


def test_a_scheduler_that_ended_is_unhealthy_even_with_a_recent_heartbeat(client):
    beat = add_scheduler_job(seconds_ago=1, state="success")
    assert scheduler_health(client) == ("unhealthy", beat)


def test_the_threshold_is_configurable(client, monkeypatch):
    beat = add_scheduler_job(seconds_ago=THRESHOLD + 5)
    monkeypatch.setenv("WINDSOCK__SCHEDULER__HEALTH_CHECK_THRESHOLD", str(THRESHOLD + 60))
    assert scheduler_health(client) == ("healthy", beat)


def test_health_ignores_wrong_credentials(client):
    response = client.get(f"{API}/health", auth=("admin", "wrong"))
    assert response.status_code == 200


def test_health_is_503_with_an_unhealthy_database_when_it_is_unreachable(client, database_down):
    response = client.get(f"{API}/health", auth=None)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body.pop("experimental_api")["enabled"] is False
    assert body == {"metadatabase": {"status": "unhealthy"}, "scheduler": SCHEDULER_NEVER_RAN}


def test_version(client):
    response = client.get(f"{API}/version")
    assert response.status_code == 200
    assert response.json() == {"version": windsock.__version__, "git_version": None}


def test_version_needs_credentials(client):
    response = client.get(f"{API}/version", auth=None)
    assert_problem(response, 401)


def test_authenticated_operations_are_503_with_retry_after_when_the_database_is_down(
        client, database_down):
    response = client.get(f"{API}/version")
    assert_problem(response, 503, "database")
    assert int(response.headers["retry-after"]) > 0
