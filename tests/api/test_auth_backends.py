"""Authentication backends in-process: basic (with throttling), session cookie with CSRF, bearer
access and personal tokens, deny-all, a custom backend, and the order of `[api] auth_backends`."""

from __future__ import annotations

import base64
import secrets
from datetime import timedelta

import jwt
import pytest
from sqlalchemy import select, update

from tests.conftest import ADMIN
from windsock.db.engine import session
from windsock.db.models import ApiToken, User, UserSession, utcnow
from windsock.security.keys import signing_key
from windsock.security.users import create_user

API = "/api/v1"
VERSION = f"{API}/version"
PASSWORD = "a-long-enough-password"


def basic(username: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def anonymous(client):
    client.auth = None
    return client


@pytest.fixture
def viewer() -> str:
    """A fresh Viewer, with a new name per test."""
    username = f"vera-{secrets.token_hex(4)}"
    create_user(username, PASSWORD, "Viewer", email=f"{username}@example.org")
    return username


def backends(monkeypatch, names: str) -> None:
    monkeypatch.setenv("WINDSOCK__API__AUTH_BACKENDS", names)


def challenges(response) -> str:
    return response.headers["WWW-Authenticate"]


# Basic


def test_basic_accepts_the_right_password(anonymous, viewer):
    assert anonymous.get(VERSION, headers=basic(viewer, PASSWORD)).status_code == 200


@pytest.mark.parametrize("who, password", [("viewer", "wrong-password"), ("nobody", PASSWORD)])
def test_basic_refuses_wrong_credentials_with_the_challenges(anonymous, viewer, who, password):
    username = viewer if who == "viewer" else "nobody"
    response = anonymous.get(VERSION, headers=basic(username, password))
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert challenges(response) == 'Basic realm="windsock", charset="UTF-8", Bearer realm="windsock"'


def test_basic_refuses_an_inactive_user(anonymous, viewer):
    with session() as sess:
        sess.execute(update(User).where(User.username == viewer).values(active=False))
    assert anonymous.get(VERSION, headers=basic(viewer, PASSWORD)).status_code == 401


def test_malformed_basic_header_is_401_not_500(anonymous):
    response = anonymous.get(VERSION, headers={"Authorization": "Basic %%%not-base64"})
    assert response.status_code == 401


def test_repeated_failures_are_429_with_retry_after_even_for_the_right_password(
        anonymous, viewer, monkeypatch):
    monkeypatch.setenv("WINDSOCK__API__AUTH_FAILURE_LIMIT", "3")
    for _ in range(3):
        assert anonymous.get(VERSION, headers=basic(viewer, "guess")).status_code == 401
    response = anonymous.get(VERSION, headers=basic(viewer, PASSWORD))
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 300
    assert response.json()["type"].endswith("#too-many-requests")
    with session() as sess:
        assert sess.scalar(select(User.failed_login_count).where(User.username == viewer)) == 3
    # Another user from the same address is not locked out.
    assert anonymous.get(VERSION, headers=basic(*ADMIN)).status_code == 200


def test_the_failure_window_passes(anonymous, viewer, monkeypatch):
    monkeypatch.setenv("WINDSOCK__API__AUTH_FAILURE_LIMIT", "1")
    monkeypatch.setenv("WINDSOCK__API__AUTH_FAILURE_WINDOW", "1")
    assert anonymous.get(VERSION, headers=basic(viewer, "guess")).status_code == 401
    assert anonymous.get(VERSION, headers=basic(viewer, PASSWORD)).status_code == 429
    monkeypatch.setenv("WINDSOCK__API__AUTH_FAILURE_WINDOW", "0")
    assert anonymous.get(VERSION, headers=basic(viewer, PASSWORD)).status_code == 200


def test_a_changed_password_is_not_remembered(anonymous, viewer):
    assert anonymous.get(VERSION, headers=basic(viewer, PASSWORD)).status_code == 200
    from windsock.security.passwords import hash_password

    with session() as sess:
        sess.execute(update(User).where(User.username == viewer)
                     .values(password_hash=hash_password("the-new-password")))
    assert anonymous.get(VERSION, headers=basic(viewer, PASSWORD)).status_code == 401
    assert anonymous.get(VERSION, headers=basic(viewer, "the-new-password")).status_code == 200


# Session cookie


def login(client, username: str, password: str = PASSWORD):
    return client.post(f"{API}/auth/login", json={"username": username, "password": password})


def test_login_sets_an_http_only_cookie_and_returns_a_csrf_token(anonymous, viewer):
    response = login(anonymous, viewer)
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == viewer and body["csrf_token"] and body["expires_in"] == 43200
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("windsock_session=") and "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert response.headers["cache-control"] == "no-store"
    assert anonymous.get(VERSION).status_code == 200
    with session() as sess:
        assert sess.scalar(select(User.login_count).where(User.username == viewer)) == 1


def test_unsafe_session_requests_need_the_csrf_token(anonymous):
    csrf = login(anonymous, ADMIN[0], ADMIN[1]).json()["csrf_token"]
    variable = {"key": "csrf_check", "value": "1"}
    refused = anonymous.post(f"{API}/variables", json=variable)
    assert refused.status_code == 403
    assert "X-CSRF-Token" in refused.json()["detail"]
    wrong = anonymous.post(f"{API}/variables", json=variable, headers={"X-CSRF-Token": "nope"})
    assert wrong.status_code == 403
    created = anonymous.post(f"{API}/variables", json=variable, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201


def test_logout_ends_the_session(anonymous, viewer):
    csrf = login(anonymous, viewer).json()["csrf_token"]
    cookie = anonymous.cookies.get("windsock_session")
    response = anonymous.post(f"{API}/auth/logout", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 204
    assert "windsock_session=" in response.headers["set-cookie"]
    anonymous.cookies.set("windsock_session", cookie)  # a copy kept by an attacker
    assert anonymous.get(VERSION).status_code == 401


def test_an_expired_session_is_refused(anonymous, viewer):
    login(anonymous, viewer)
    with session() as sess:
        sess.execute(update(UserSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert anonymous.get(VERSION).status_code == 401


@pytest.mark.parametrize("body, status", [({"username": "viewer", "password": "wrong"}, 401),
                                          ({"username": "ghost", "password": PASSWORD}, 401),
                                          ({"username": "viewer"}, 422)])
def test_login_refuses_bad_credentials(anonymous, viewer, body, status):
    body = {**body, "username": viewer if body["username"] == "viewer" else body["username"]}
    response = anonymous.post(f"{API}/auth/login", json=body)
    assert response.status_code == status
    assert "set-cookie" not in response.headers


def test_a_user_without_api_access_gets_no_session_and_no_token(anonymous):
    create_user("pat", PASSWORD, "Public", email="pat@example.org")
    credentials = {"username": "pat", "password": PASSWORD}
    for path in ("login", "token"):
        response = anonymous.post(f"{API}/auth/{path}", json=credentials)
        assert response.status_code == 403
        assert "can_access on API" in response.json()["detail"]


# Bearer: access tokens


def token_for(client, **kwargs) -> dict:
    response = client.post(f"{API}/auth/token", **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


def test_an_access_token_from_basic_credentials_works(anonymous, viewer):
    issued = token_for(anonymous, headers=basic(viewer, PASSWORD))
    assert issued["token_type"] == "Bearer" and issued["expires_in"] == 3600
    assert anonymous.get(VERSION, headers=bearer(issued["access_token"])).status_code == 200


def test_an_access_token_from_body_credentials_works(anonymous, viewer):
    issued = token_for(anonymous, json={"username": viewer, "password": PASSWORD})
    assert anonymous.get(VERSION, headers=bearer(issued["access_token"])).status_code == 200


def test_the_token_exchange_without_any_credentials_is_401(anonymous):
    response = anonymous.post(f"{API}/auth/token")
    assert response.status_code == 401
    assert "Basic" in challenges(response)


def test_a_bearer_token_cannot_buy_another(anonymous, viewer):
    """The token exchange does not list Bearer among its schemes, so the bearer backend is not
    even asked: without other credentials it is a request without any."""
    token = token_for(anonymous, headers=basic(viewer, PASSWORD))["access_token"]
    response = anonymous.post(f"{API}/auth/token", headers=bearer(token))
    assert response.status_code == 401
    assert "Bearer" not in challenges(response)


def test_logout_takes_the_session_cookie_only(anonymous, viewer):
    response = anonymous.post(f"{API}/auth/logout", headers=basic(viewer, PASSWORD))
    assert response.status_code == 401


def _signed(claims: dict, key: str | None = None) -> str:
    return jwt.encode(claims, key or signing_key(), algorithm="HS256")


def _claims(username: str, **changes) -> dict:
    with session() as sess:
        uid = sess.scalar(select(User.id).where(User.username == username))
    now = utcnow()
    return {"sub": username, "uid": uid, "iat": now, "exp": now + timedelta(minutes=5), **changes}


@pytest.mark.parametrize("case", ["expired", "other key", "tampered", "other uid", "no exp"])
def test_bad_access_tokens_are_401(anonymous, viewer, case):
    claims = _claims(viewer)
    token = {
        "expired": lambda: _signed({**claims, "exp": utcnow() - timedelta(seconds=1)}),
        "other key": lambda: _signed(claims, "another-key-of-enough-length-for-hs256-0123"),
        "tampered": lambda: _signed(claims)[:-2] + "xx",
        "other uid": lambda: _signed({**claims, "uid": claims["uid"] + 1000}),
        "no exp": lambda: _signed({k: v for k, v in claims.items() if k != "exp"}),
    }[case]()
    assert _signed(claims) != token
    assert anonymous.get(VERSION, headers=bearer(_signed(claims))).status_code == 200
    assert anonymous.get(VERSION, headers=bearer(token)).status_code == 401


def test_an_access_token_dies_with_its_user(anonymous, viewer):
    token = token_for(anonymous, headers=basic(viewer, PASSWORD))["access_token"]
    with session() as sess:
        sess.execute(update(User).where(User.username == viewer).values(active=False))
    assert anonymous.get(VERSION, headers=bearer(token)).status_code == 401


# Bearer: personal API tokens


def test_personal_tokens_are_created_listed_used_and_revoked(anonymous):
    admin = basic(*ADMIN)
    created = anonymous.post(f"{API}/auth/tokens", json={"name": "nightly", "expires_in_days": 30},
                             headers=admin)
    assert created.status_code == 201
    token = created.json()
    assert token["token"].startswith("wsk_") and token["last_used_at"] is None
    assert created.headers["location"].endswith(f"/auth/tokens/{token['id']}")
    assert anonymous.get(VERSION, headers=bearer(token["token"])).status_code == 200
    listed = anonymous.get(f"{API}/auth/tokens", headers=admin).json()
    assert listed["total_entries"] == 1
    assert "token" not in listed["api_tokens"][0]
    assert listed["api_tokens"][0]["last_used_at"] is not None
    with session() as sess:
        assert sess.scalar(select(ApiToken.token_digest)) != token["token"]
    assert anonymous.delete(f"{API}/auth/tokens/{token['id']}", headers=admin).status_code == 204
    assert anonymous.get(VERSION, headers=bearer(token["token"])).status_code == 401
    assert anonymous.delete(f"{API}/auth/tokens/{token['id']}", headers=admin).status_code == 404


def test_an_expired_personal_token_is_refused(anonymous):
    token = anonymous.post(f"{API}/auth/tokens", json={"name": "short"},
                           headers=basic(*ADMIN)).json()
    with session() as sess:
        sess.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert anonymous.get(VERSION, headers=bearer(token["token"])).status_code == 401


def test_tokens_of_other_users_are_neither_listed_nor_revocable(anonymous, viewer):
    mine = anonymous.post(f"{API}/auth/tokens", json={"name": "admin's"},
                          headers=basic(*ADMIN)).json()
    theirs = basic(viewer, PASSWORD)
    assert anonymous.get(f"{API}/auth/tokens", headers=theirs).json()["total_entries"] == 0
    response = anonymous.delete(f"{API}/auth/tokens/{mine['id']}", headers=theirs)
    assert response.status_code == 404
    assert anonymous.get(VERSION, headers=bearer(mine["token"])).status_code == 200


def test_an_unknown_personal_token_is_401(anonymous):
    assert anonymous.get(VERSION, headers=bearer("wsk_not-a-real-token")).status_code == 401


# Backend configuration


def test_deny_all_refuses_everyone_but_health_stays_public(anonymous, monkeypatch):
    backends(monkeypatch, "deny_all")
    assert anonymous.get(VERSION, headers=basic(*ADMIN)).status_code == 401
    assert anonymous.get(f"{API}/health").status_code == 200


def test_only_configured_backends_are_tried(anonymous, monkeypatch):
    backends(monkeypatch, "bearer")
    refused = anonymous.get(VERSION, headers=basic(*ADMIN))
    assert refused.status_code == 401
    assert challenges(refused) == 'Bearer realm="windsock"'


def test_backends_are_tried_in_order(anonymous, viewer, monkeypatch):
    """The first backend that knows the caller wins: here the custom header backend names the
    viewer although basic credentials for the admin are sent too."""
    backends(monkeypatch, "tests.support.header_backend,basic")
    both = {**basic(*ADMIN), "X-Test-User": viewer}
    assert anonymous.post(f"{API}/variables", json={"key": "k", "value": "v"},
                          headers=both).status_code == 403
    backends(monkeypatch, "basic,tests.support.header_backend")
    assert anonymous.post(f"{API}/variables", json={"key": "k", "value": "v"},
                          headers=both).status_code == 201
    refused = anonymous.get(VERSION)
    assert challenges(refused) == 'Basic realm="windsock", charset="UTF-8", Proxy realm="tests"'


def test_an_unknown_backend_stops_the_app_from_starting(monkeypatch, migrated):
    from windsock.app import create_app
    from windsock.config import ConfigError

    backends(monkeypatch, "basic,no.such.backend")
    with pytest.raises(ConfigError, match="no.such.backend"):
        create_app()


def test_a_login_is_in_the_event_log_under_its_user_without_the_password(anonymous, viewer):
    from windsock.db.models import EventLog

    login(anonymous, viewer)
    with session() as sess:
        row = sess.scalars(select(EventLog).where(EventLog.event == "login")).one()
    assert row.owner == viewer
    assert PASSWORD not in row.extra
