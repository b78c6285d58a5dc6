"""Monitoring: GET /health (no authentication) and GET /version."""

import windsock
from tests.api.helpers import API, assert_problem

SCHEDULER_NEVER_RAN = {"status": "unhealthy", "latest_scheduler_heartbeat": None}


def test_health_needs_no_credentials_and_reports_a_healthy_database(client):
    response = client.get(f"{API}/health", auth=None)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"metadatabase": {"status": "healthy"},
                               "scheduler": SCHEDULER_NEVER_RAN}


def test_health_ignores_wrong_credentials(client):
    response = client.get(f"{API}/health", auth=("admin", "wrong"))
    assert response.status_code == 200


def test_health_is_503_with_an_unhealthy_database_when_it_is_unreachable(client, database_down):
    response = client.get(f"{API}/health", auth=None)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"metadatabase": {"status": "unhealthy"},
                               "scheduler": SCHEDULER_NEVER_RAN}


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
