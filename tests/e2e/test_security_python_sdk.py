"""Authentication and permissions through the generated Python SDK against a real api-server.

Covered here, each over the wire: basic credentials (Configuration username/password), access
tokens from POST /auth/token (AuthApi.create_access_token) sent as `Configuration.access_token`,
personal API tokens (created, listed, used and revoked with AuthApi), and what the roles of a
user created through UserApi and RoleApi let that user do, with PermissionApi listing the pairs
roles are made of.

What the tests create -- users, roles, tokens, failed-login counts -- is removed after each test
by `clean_database`; every username here is used by one test only all the same, so that what the
server process remembers of a name (a recent password check) cannot carry over.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import timedelta

import pytest
import windsock_client
from windsock_client.exceptions import (
    ForbiddenException,
    NotFoundException,
    UnauthorizedException,
)
from windsock_client.models import (
    Action,
    ActionResource,
    ApiTokenCreate,
    Error,
    Resource,
    Role,
    RoleReference,
    TokenRequest,
    UserCreate,
    UserUpdate,
    Variable,
)

from tests.conftest import ADMIN
from tests.e2e.test_python_sdk import ERRORS, _configuration, _pages, _problem

Connect = Callable[..., windsock_client.ApiClient]


@pytest.fixture
def connect(live_server) -> Iterator[Connect]:
    """Opens SDK clients for the live server with the credentials given by keyword (username and
    password, or access_token; none by default); they are all closed after the test."""
    with ExitStack() as clients:
        def connect(*, username: str | None = None, password: str | None = None,
                    access_token: str | None = None) -> windsock_client.ApiClient:
            config = _configuration(live_server, username=username, password=password)
            config.access_token = access_token
            return clients.enter_context(windsock_client.ApiClient(config))

        yield connect


@pytest.fixture
def admin(connect) -> windsock_client.ApiClient:
    return connect(username=ADMIN[0], password=ADMIN[1])


def _keys(client: windsock_client.ApiClient) -> list[str]:
    return [v.key for v in windsock_client.VariableApi(client).get_variables().variables]


def _refused(call: Callable[[], object]) -> Error:
    """Call an operation that must be refused with 401; the problem document it carries."""
    with pytest.raises(UnauthorizedException) as caught:
        call()
    problem = _problem(caught.value)
    assert (caught.value.status, problem.status, problem.title) == (401, 401, "Unauthorized")
    return problem


def _permission(action: str, resource: str) -> ActionResource:
    return ActionResource(action=Action(name=action), resource=Resource(name=resource))


def _pairs(actions: list[ActionResource]) -> list[tuple[str, str]]:
    return [(a.action.name, a.resource.name) for a in actions]


# --- basic credentials ---------------------------------------------------------------------------


def test_basic_credentials_read_and_write(admin):
    api = windsock_client.VariableApi(admin)
    api.post_variables(Variable(key="written_with_basic", value="1"))
    assert _keys(admin) == ["written_with_basic"]


def test_wrong_password_and_unknown_user_get_the_same_problem(connect):
    wrong_password = connect(username=ADMIN[0], password="not-the-password")
    unknown_user = connect(username="nobody_at_all", password=ADMIN[1])

    problems = []
    for client in (wrong_password, unknown_user):
        with pytest.raises(UnauthorizedException) as caught:
            windsock_client.VariableApi(client).get_variables()
        # Every configured backend is offered as a way to authenticate.
        offered = caught.value.headers["WWW-Authenticate"]
        assert offered.startswith("Basic ") and 'Bearer realm="windsock"' in offered
        problems.append(_problem(caught.value))

    assert problems[0].type.startswith(ERRORS)
    assert problems[0].status == 401
    # The answer does not tell whether the username exists.
    assert problems[0] == problems[1]


# --- access tokens -------------------------------------------------------------------------------


def test_access_token_for_basic_credentials(connect, admin):
    issued = windsock_client.AuthApi(admin).create_access_token()
    assert issued.token_type == "Bearer"
    assert issued.expires_in > 0

    bearer = connect(access_token=issued.access_token)
    windsock_client.VariableApi(bearer).post_variables(Variable(key="written_with_bearer",
                                                                value="1"))
    assert _keys(bearer) == ["written_with_bearer"]
    assert _keys(admin) == ["written_with_bearer"]

    forged = connect(access_token=issued.access_token + "x")
    _refused(windsock_client.VariableApi(forged).get_variables)


def test_access_token_for_credentials_in_the_body(connect):
    anonymous = windsock_client.AuthApi(connect())
    issued = anonymous.create_access_token(TokenRequest(username=ADMIN[0], password=ADMIN[1]))
    assert issued.token_type == "Bearer"
    assert _keys(connect(access_token=issued.access_token)) == []

    problem = _refused(lambda: anonymous.create_access_token(
        TokenRequest(username=ADMIN[0], password="not-the-password")))
    assert problem.type.startswith(ERRORS)

    # Neither credentials nor a body: nothing to issue a token for.
    _refused(anonymous.create_access_token)


# --- personal API tokens -------------------------------------------------------------------------


def test_personal_token_lifecycle(connect, admin):
    auth = windsock_client.AuthApi(admin)
    created = auth.create_api_token(ApiTokenCreate(name="nightly-export", expires_in_days=30))
    assert created.token.startswith("wsk_")
    assert created.name == "nightly-export"
    assert created.last_used_at is None
    assert abs(created.expires_at - created.created_at - timedelta(days=30)) < timedelta(seconds=1)

    # The token acts as its owner, for reads and writes.
    with_token = connect(access_token=created.token)
    windsock_client.VariableApi(with_token).post_variables(Variable(key="via_token", value="1"))
    assert _keys(with_token) == ["via_token"]

    # The list shows the token, now used, but never its secret.
    listed = auth.get_api_tokens()
    assert listed.total_entries == 1
    [token] = listed.api_tokens
    assert (token.id, token.name, token.created_at, token.expires_at) == (
        created.id, created.name, created.created_at, created.expires_at)
    assert token.last_used_at is not None
    raw = auth.get_api_tokens_without_preload_content()
    assert raw.status == 200
    body = raw.data.decode()
    assert created.token not in body
    assert all("token" not in item for item in json.loads(body)["api_tokens"])

    # The token lists itself too: the token operations accept bearer authentication.
    assert [t.id for t in windsock_client.AuthApi(with_token).get_api_tokens().api_tokens] == [
        created.id]

    auth.revoke_api_token(created.id)
    problem = _refused(windsock_client.VariableApi(with_token).get_variables)
    assert problem.type.startswith(ERRORS)
    assert auth.get_api_tokens().total_entries == 0
    with pytest.raises(NotFoundException) as caught:
        auth.revoke_api_token(created.id)
    assert _problem(caught.value).status == 404


# --- users, roles and permissions ----------------------------------------------------------------


def test_a_users_roles_decide_what_they_may_do(connect, admin):
    role_name, username, password = "Variable Readers", "rita_reader", "reader-password-1"

    role = windsock_client.RoleApi(admin).post_role(Role(name=role_name, actions=[
        _permission("can_access", "API"), _permission("can_read", "Variables")]))
    assert role.name == role_name
    assert sorted(_pairs(role.actions)) == [("can_access", "API"), ("can_read", "Variables")]
    fetched = windsock_client.RoleApi(admin).get_role(role_name)  # a name with a space, encoded
    assert sorted(_pairs(fetched.actions)) == sorted(_pairs(role.actions))

    users = windsock_client.UserApi(admin)
    user = users.post_user(UserCreate(
        username=username, password=password, email="rita@example.org", first_name="Rita",
        last_name="Reader", roles=[RoleReference(name=role_name)]))
    assert (user.username, user.active) == (username, True)
    assert [r.name for r in user.roles] == [role_name]

    windsock_client.VariableApi(admin).post_variables(Variable(key="shared", value="1"))
    reader = connect(username=username, password=password)
    reader_variables = windsock_client.VariableApi(reader)
    assert _keys(reader) == ["shared"]

    with pytest.raises(ForbiddenException) as caught:
        reader_variables.post_variables(Variable(key="own", value="2"))
    problem = _problem(caught.value)
    assert (caught.value.status, problem.status, problem.title) == (403, 403, "Forbidden")
    assert problem.type == f"{ERRORS}#forbidden"
    assert "can_create on Variables" in problem.detail
    assert problem.detail == f"User '{username}' lacks the permission can_create on Variables."
    assert _keys(admin) == ["shared"]

    patched = users.patch_user(username, UserUpdate(
        roles=[RoleReference(name=role_name), RoleReference(name="Op")]), update_mask=["roles"])
    assert sorted(r.name for r in patched.roles) == sorted([role_name, "Op"])
    assert reader_variables.post_variables(Variable(key="own", value="2")).key == "own"
    assert _keys(admin) == ["own", "shared"]

    # Whatever credentials the user had stop working with the user.
    access_token = windsock_client.AuthApi(reader).create_access_token().access_token
    personal_token = windsock_client.AuthApi(reader).create_api_token(
        ApiTokenCreate(name="rita-script")).token
    assert _keys(connect(access_token=access_token)) == ["own", "shared"]

    users.delete_user(username)
    with pytest.raises(NotFoundException):
        users.get_user(username)
    _refused(reader_variables.get_variables)
    for token in (access_token, personal_token):
        _refused(windsock_client.VariableApi(connect(access_token=token)).get_variables)


def test_permissions_and_built_in_roles_are_listed(admin):
    pages = _pages(windsock_client.PermissionApi(admin).get_permissions,
                   lambda page: _pairs(page.actions), size=25)
    pairs = [pair for page in pages for pair in page]
    assert len(pairs) == len(set(pairs))
    assert ("can_access", "API") in pairs
    assert {("can_read", "Variables"), ("can_create", "Variables")} <= set(pairs)
    assert pairs == sorted(pairs, key=lambda pair: (pair[1], pair[0]))

    roles = windsock_client.RoleApi(admin).get_roles(limit=100).roles
    by_name = {role.name: set(_pairs(role.actions)) for role in roles}
    assert {"Admin", "Op", "User", "Viewer", "Public"} <= by_name.keys()
    assert by_name["Public"] == set()
    assert ("can_access", "API") in by_name["Viewer"]
    assert ("can_create", "Variables") not in by_name["Viewer"]
    # Every permission a role holds is one the permission list offers.
    assert set().union(*by_name.values()) <= set(pairs)
