"""Users: creation with a hashed, never returned password; logging in as the user; roles that
decide what they may do; renaming, deactivating and deleting; uniqueness; conditional requests."""

from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import quote

import pytest
from sqlalchemy import func, select, update

from tests.api.accounts import (API_ACCESS, PASSWORD, USERS, assert_conditional_requests,
                                assert_missing_everywhere, create_role, create_user, fresh_name,
                                user_body)
from tests.api.helpers import API, assert_problem, links
from tests.conftest import ADMIN
from windsock.db.engine import session
from windsock.db.models import ApiToken, EventLog, User, UserSession, utcnow
from windsock.security.passwords import verify_password


FIELDS = {"first_name", "last_name", "username", "email", "active", "last_login",
          "login_count", "failed_login_count", "roles", "created_on", "changed_on"}
VARIABLES = f"{API}/variables"


def url(username: str) -> str:
    return f"{USERS}/{quote(username, safe='')}"


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def names(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [user["username"] for user in response.json()["users"]]


def stored(username: str) -> User | None:
    with session() as sess:
        return sess.scalar(select(User).where(User.username == username))


def post_variable(client, who: tuple[str, str]):
    return client.post(VARIABLES, json={"key": "region", "value": "eu"}, auth=who)


# Creating and reading


def test_create_is_201_with_location_etag_and_no_password(client):
    response = client.post(USERS, json=user_body("jdoe", roles=[{"name": "Op"}]))
    assert response.status_code == 201, response.text
    assert response.headers["location"] == url("jdoe")
    created = response.json()
    assert set(created) == FIELDS
    assert created | {"created_on": None, "changed_on": None} == {
        "first_name": "Jane", "last_name": "Doe", "username": "jdoe",
        "email": "jdoe@example.org", "active": True, "last_login": None, "login_count": 0,
        "failed_login_count": 0, "roles": [{"name": "Op"}], "created_on": None,
        "changed_on": None}
    assert created["created_on"] == created["changed_on"]
    assert created["created_on"].endswith("+00:00")
    fetched = client.get(response.headers["location"])
    assert fetched.json() == created
    assert fetched.headers["etag"] == response.headers["etag"]


def test_the_password_is_stored_as_an_argon2_hash_only(client):
    create_user(client, "jdoe")
    user = stored("jdoe")
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert verify_password(user.password_hash, PASSWORD)


def test_no_answer_contains_the_password(client):
    create_user(client, "jdoe")
    answers = [client.get(USERS), client.get(url("jdoe")),
               client.patch(url("jdoe"), json={"password": "another-password"})]
    for answer in answers:
        assert answer.status_code == 200
        assert "password" not in answer.text
        assert PASSWORD not in answer.text and "another-password" not in answer.text
        assert "argon2" not in answer.text


def test_without_roles_a_user_holds_only_public(client):
    assert create_user(client, "jdoe")["roles"] == [{"name": "Public"}]
    assert create_user(client, "nobody", roles=[])["roles"] == []


def test_unknown_roles_are_422_naming_them(client):
    body = user_body("jdoe", roles=[{"name": "Op"}, {"name": "Wizards"}, {"name": "Elves"}])
    assert_problem(client.post(USERS, json=body), 422, "'Wizards'", "'Elves'")
    assert stored("jdoe") is None


def test_a_role_name_is_matched_exactly(client):
    body = user_body("jdoe", roles=[{"name": "admin"}])
    assert_problem(client.post(USERS, json=body), 422, "'admin'")


@pytest.mark.parametrize("field", ["username", "email"])
def test_a_taken_username_or_email_is_409_naming_it(client, field):
    create_user(client, "first")
    body = user_body("second", **{field: user_body("first")[field]})
    assert_problem(client.post(USERS, json=body), 409, field, f"'{body[field]}'")
    assert [u for u in names(client.get(USERS)) if u != ADMIN[0]] == ["first"]


@pytest.mark.parametrize("field", ["username", "password", "email", "first_name", "last_name"])
def test_a_missing_mandatory_field_is_422(client, field):
    body = user_body("jdoe")
    del body[field]
    assert_problem(client.post(USERS, json=body), 422, field)


@pytest.mark.parametrize("field, value", [
    ("username", "has space"), ("username", "a/b"), ("username", ""), ("username", "x" * 257),
    ("password", "short"), ("email", "not-an-address"), ("first_name", ""),
    ("roles", [{"name": "Op"}, {"name": "Op"}]),
])
def test_invalid_fields_are_400_naming_them(client, field, value):
    assert_problem(client.post(USERS, json=user_body("jdoe", **{field: value})), 400, field)


@pytest.mark.parametrize("field", ["colour", "created_on", "login_count", "password_hash"])
def test_unknown_and_read_only_fields_are_400_naming_them(client, field):
    assert_problem(client.post(USERS, json=user_body("jdoe", **{field: 1})), 400, field)
    create_user(client, "jdoe")
    assert_problem(client.patch(url("jdoe"), json={field: 1}), 400, field)


def test_nul_character_is_400(client):
    body = user_body("jdoe", first_name="Ja\x00ne")
    assert_problem(client.post(USERS, json=body), 400, "first_name")


def test_unknown_is_404_naming_it(client):
    assert_missing_everywhere(client, url("ghost"), "ghost", {"first_name": "Casper"})


def test_conditional_requests(client):
    create_user(client, "jdoe")
    assert_conditional_requests(client, url("jdoe"), {"active": False})


# The created user at work


def test_a_created_user_logs_in_and_gets_what_their_roles_allow(client):
    username = fresh_name("vera")
    me = (username, PASSWORD)
    create_user(client, username, "Viewer")
    assert client.get(f"{API}/dags", auth=me).status_code == 200
    assert_problem(post_variable(client, me), 403, "can_create on Variables")
    create_role(client, "Variable Writers", API_ACCESS, ("can_create", "Variables"))
    response = client.patch(url(username), params={"update_mask": "roles"},
                            json={"roles": [{"name": "Viewer"}, {"name": "Variable Writers"}]})
    assert response.json()["roles"] == [{"name": "Variable Writers"}, {"name": "Viewer"}]
    assert post_variable(client, me).status_code == 201
    client.patch(url(username), json={"roles": [{"name": "Viewer"}]})
    assert post_variable(client, me).status_code == 403


def test_a_user_with_only_public_cannot_call_the_api(client):
    username = fresh_name("pat")
    create_user(client, username)
    assert_problem(client.get(f"{API}/version", auth=(username, PASSWORD)), 403,
                   "can_access on API")


def test_a_wrong_password_is_401_and_counted(client):
    username = fresh_name("vera")
    create_user(client, username, "Viewer")
    assert_problem(client.get(f"{API}/version", auth=(username, "not-the-password")), 401)
    assert client.get(url(username)).json()["failed_login_count"] == 1


def test_a_new_password_replaces_the_old_one(client):
    username = fresh_name("vera")
    create_user(client, username, "Viewer")
    before = client.get(url(username)).json()
    assert client.get(f"{API}/version", auth=(username, PASSWORD)).status_code == 200
    response = client.patch(url(username), json={"password": "a-brand-new-password"})
    assert response.status_code == 200
    assert moment(response.json()["changed_on"]) > moment(before["changed_on"])
    assert client.get(f"{API}/version", auth=(username, PASSWORD)).status_code == 401
    assert client.get(f"{API}/version", auth=(username, "a-brand-new-password")).status_code == 200


def test_a_new_password_ends_the_users_sessions(client, app):
    username = fresh_name("vera")
    create_user(client, username, "Viewer")
    with app.test_client() as browser:
        login = browser.post(f"{API}/auth/login", json={"username": username,
                                                        "password": PASSWORD})
        assert login.status_code == 200, login.text
        assert browser.get(f"{API}/version").status_code == 200
        client.patch(url(username), json={"password": "a-brand-new-password"})
        assert browser.get(f"{API}/version").status_code == 401
    with session() as sess:
        assert sess.scalar(select(func.count()).select_from(UserSession)) == 0


def test_an_inactive_user_is_locked_out_until_reactivated(client):
    username = fresh_name("vera")
    create_user(client, username, "Viewer")
    me = (username, PASSWORD)
    assert client.patch(url(username), json={"active": False}).json()["active"] is False
    assert_problem(client.get(f"{API}/version", auth=me), 401)
    client.patch(url(username), json={"active": True})
    assert client.get(f"{API}/version", auth=me).status_code == 200


# Changing


def test_patch_without_update_mask_applies_every_field_in_the_body(client):
    created = create_user(client, "jdoe")
    change = {"first_name": "Janet", "last_name": "Smith", "email": "janet@example.org"}
    response = client.patch(url("jdoe"), json=change)
    assert response.status_code == 200
    assert response.json() == {**created, **change, "changed_on": response.json()["changed_on"]}
    assert moment(response.json()["changed_on"]) > moment(created["changed_on"])
    assert response.json()["created_on"] == created["created_on"]
    fetched = client.get(url("jdoe"))
    assert fetched.json() == response.json()
    assert fetched.headers["etag"] == response.headers["etag"]


def test_patch_with_update_mask_applies_only_the_named_fields(client):
    created = create_user(client, "jdoe")
    response = client.patch(url("jdoe"), params={"update_mask": "last_name,roles"},
                            json={"first_name": "Janet", "last_name": "Smith",
                                  "roles": [{"name": "Op"}], "password": "ignored-password"})
    after = response.json()
    assert after["first_name"] == created["first_name"]
    assert (after["last_name"], after["roles"]) == ("Smith", [{"name": "Op"}])
    assert verify_password(stored("jdoe").password_hash, PASSWORD)


def test_update_mask_naming_a_field_missing_from_the_body_is_400(client):
    before = create_user(client, "jdoe")
    response = client.patch(url("jdoe"), params={"update_mask": "last_name,email"},
                            json={"last_name": "Smith"})
    assert_problem(response, 400, "email")
    assert_problem(client.patch(url("jdoe"), params={"update_mask": "created_on"},
                                json={"last_name": "Smith"}), 400, "update_mask")
    assert client.get(url("jdoe")).json() == before


def test_a_patch_that_changes_nothing_keeps_changed_on_and_the_etag(client):
    created = create_user(client, "jdoe", "Op")
    etag = client.get(url("jdoe")).headers["etag"]
    response = client.patch(url("jdoe"), json={"first_name": "Jane", "roles": [{"name": "Op"}]})
    assert response.json() == created
    assert response.headers["etag"] == etag


def test_roles_replace_the_whole_set(client):
    create_user(client, "jdoe", "Viewer")
    both = client.patch(url("jdoe"), json={"roles": [{"name": "Viewer"}, {"name": "Op"}]})
    assert both.json()["roles"] == [{"name": "Op"}, {"name": "Viewer"}]
    assert client.patch(url("jdoe"), json={"roles": []}).json()["roles"] == []
    assert_problem(client.patch(url("jdoe"), json={"roles": [{"name": "Wizards"}]}), 422,
                   "'Wizards'")
    assert client.get(url("jdoe")).json()["roles"] == []


def test_rename_moves_the_user_and_their_login(client):
    created = create_user(client, fresh_name("old"), "Viewer")
    new_name = fresh_name("new")
    response = client.patch(url(created["username"]), json={"username": new_name})
    assert response.status_code == 200
    assert response.json()["username"] == new_name
    assert_problem(client.get(url(created["username"])), 404)
    assert client.get(url(new_name)).json() == response.json()
    assert client.get(f"{API}/version", auth=(new_name, PASSWORD)).status_code == 200


@pytest.mark.parametrize("field", ["username", "email"])
def test_taking_another_users_username_or_email_is_409(client, field):
    create_user(client, "first")
    before = create_user(client, "second")
    taken = user_body("first")[field]
    assert_problem(client.patch(url("second"), json={field: taken}), 409, f"'{taken}'")
    assert client.get(url("second")).json() == before
    # Repeating one's own is no conflict.
    own = user_body("second")[field]
    assert client.patch(url("second"), json={field: own}).status_code == 200


# Deleting


def test_delete_is_204_then_404_and_takes_sessions_and_tokens(client):
    create_user(client, "jdoe", "Viewer")
    user_id = stored("jdoe").id
    with session() as sess:
        sess.add(UserSession(digest="d" * 64, user_id=user_id, csrf_token="c",
                             expires_at=utcnow()))
        sess.add(ApiToken(user_id=user_id, name="laptop", token_digest="t" * 64))
    response = client.delete(url("jdoe"))
    assert response.status_code == 204 and response.content == b""
    assert_problem(client.get(url("jdoe")), 404)
    assert "jdoe" not in names(client.get(USERS))
    with session() as sess:
        for model in (UserSession, ApiToken):
            assert sess.scalar(select(func.count()).select_from(model)) == 0


def test_deleting_yourself_is_409(client):
    response = client.delete(url(ADMIN[0]))
    assert_problem(response, 409, f"'{ADMIN[0]}'", "delete themselves")
    assert client.get(url(ADMIN[0])).status_code == 200


def test_an_admin_may_delete_others_but_not_themselves(client):
    username = fresh_name("root")
    create_user(client, username, "Admin")
    create_user(client, "jdoe")
    response = client.delete(url("jdoe"), auth=(username, PASSWORD))
    assert response.status_code == 204
    assert_problem(client.delete(url(username), auth=(username, PASSWORD)), 409)


# Listing


def test_list_pages_with_total_entries_and_links(client):
    for username in ("u3", "u1", "u5", "u2", "u4"):
        create_user(client, username)
    page = client.get(USERS, params={"limit": 2, "offset": 1})
    assert page.json()["total_entries"] == 6
    assert names(page) == ["u1", "u2"]
    assert set(links(page)) == {"next", "prev"}
    assert names(client.get(USERS)) == [ADMIN[0], "u1", "u2", "u3", "u4", "u5"]
    assert "link" not in client.get(USERS).headers


@pytest.mark.parametrize("order_by, expected", [
    ("-username", ["c", "b", "a"]),
    ("email", [ADMIN[0], "b", "a", "c"]),
    ("-email", ["c", "a", "b", ADMIN[0]]),
    ("-first_name", ["a", "c", "b"]),
    ("created_on", [ADMIN[0], "a", "b", "c"]),
    ("-login_count", ["c", "b", "a"]),  # ties fall back on the primary key
    # Airflow 2's names: the primary key, username, active, the first role
    ("-id", ["c", "b", "a", ADMIN[0]]),
    ("user_name", ["a", ADMIN[0], "b", "c"]),
    ("-is_active", ["c", "b", "a", ADMIN[0]]),
    ("-role", ["c", "b", "a", ADMIN[0]]),  # Public, then Admin
])
def test_list_orders_by_the_allowed_fields(client, order_by, expected):
    create_user(client, "a", email="m@example.org", first_name="Zed")
    create_user(client, "b", email="k@example.org", first_name="Ann")
    create_user(client, "c", email="z@example.org", first_name="Bob")
    with session() as sess:
        sess.execute(update(User).where(User.username == "c").values(login_count=9))
    assert [n for n in names(client.get(USERS, params={"order_by": order_by}))
            if n in expected] == expected


def test_list_rejects_an_unknown_order_field(client):
    response = client.get(USERS, params={"order_by": "password_hash"})
    assert_problem(response, 400, "order_by", "'password_hash'")


def test_list_shows_each_users_roles(client):
    create_user(client, "jdoe", "Viewer", "Op")
    listed = {u["username"]: u for u in client.get(USERS).json()["users"]}
    assert listed["jdoe"]["roles"] == [{"name": "Op"}, {"name": "Viewer"}]
    assert listed[ADMIN[0]]["roles"] == [{"name": "Admin"}]


# The audit trail


def test_the_event_log_masks_the_password(client):
    create_user(client, "jdoe")
    client.patch(url("jdoe"), json={"password": "a-brand-new-password"})
    with session() as sess:
        rows = {row.event: row for row in sess.scalars(select(EventLog))}
    assert set(rows) >= {"post_user", "patch_user"}
    for row in rows.values():
        assert PASSWORD not in row.extra and "a-brand-new-password" not in row.extra
        assert json.loads(row.extra)["body"]["password"] == "***"
    assert rows["post_user"].owner == ADMIN[0]
    assert json.loads(rows["post_user"].extra)["body"]["username"] == "jdoe"
