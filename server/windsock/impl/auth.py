"""Auth operations: access tokens, login sessions and the caller's personal API tokens.

`create_access_token` uses the caller the guard authenticated (by basic, session or Kerberos: the
contract does not offer Bearer there, so a token never buys a fresh one), or else the username
and password in its body; `login` is public and always checks the credentials in its body.
Either way a user without API access gets no token and no session (403).
"""

from __future__ import annotations

from datetime import timedelta

import flask
from connexion import context
from sqlalchemy import delete, select

from windsock import config
from windsock.api import paging, resources
from windsock.api.guard import authorize, problem_of
from windsock.api.problems import NotFound, Unauthorized
from windsock.api.representations import iso
from windsock.db.engine import session
from windsock.db.models import ApiToken, utcnow
from windsock.security import authorization, backends, credentials, sessions, tokens
from windsock.security.authorization import Principal
from windsock.security.backends import Identity, Refused

NO_STORE = {"Cache-Control": "no-store"}
ORDER_COLUMNS = {"created_at": ApiToken.created_at}


def _challenges() -> list[str]:
    return backends.challenges(context.context.get("auth_schemes"))


def _from_body(body: dict | None) -> Identity:
    """The identity proven by the username and password in the body; 401 or 429 otherwise."""
    if not body or "username" not in body or "password" not in body:
        raise Unauthorized("Send credentials: authenticate the request, or put username and "
                           "password in the JSON body.", challenges=_challenges())
    try:
        identity = credentials.verify(body["username"], body["password"],
                                      flask.request.remote_addr or "", via="password")
    except Refused as refused:
        raise problem_of(refused) from None
    if identity is None:
        raise Unauthorized("The username or password is wrong, or the user is inactive.",
                           challenges=_challenges())
    context.context["user"] = identity.username  # the event log names who logged in
    return identity


def _with_api_access(identity: Identity) -> Identity:
    authorize(authorization.principal(identity), [])
    return identity


def create_access_token(body: dict | None = None):
    caller: Principal | None = context.context.get("token_info")
    identity = (Identity(caller.user_id, caller.username, caller.via) if caller
                else _with_api_access(_from_body(body)))
    token, lifetime = tokens.issue_access_token(identity)
    credentials.record_login(identity.user_id)
    return resources.ok({"access_token": token, "token_type": "Bearer", "expires_in": lifetime},
                        headers=NO_STORE)


def login(body: dict):
    identity = _with_api_access(_from_body(body))
    secret, csrf, lifetime = sessions.start(identity)
    credentials.record_login(identity.user_id)
    response = flask.make_response(resources.ok(
        {"username": identity.username, "csrf_token": csrf, "expires_in": lifetime},
        headers=NO_STORE))
    response.set_cookie(sessions.COOKIE, secret, max_age=lifetime, httponly=True,
                        samesite="Lax", secure=config.get_bool("api", "session_cookie_secure"),
                        path="/")
    return response


def logout():
    sessions.end(flask.request.cookies.get(sessions.COOKIE, ""))
    response = resources.deleted()
    response.delete_cookie(sessions.COOKIE, path="/")
    return response


def _token_body(token: ApiToken) -> dict:
    return {"id": token.id, "name": token.name, "created_at": iso(token.created_at),
            "expires_at": iso(token.expires_at), "last_used_at": iso(token.last_used_at)}


def get_api_tokens(limit: int, offset: int):
    with session() as sess:
        return paging.collection(
            sess, select(ApiToken).where(ApiToken.user_id == authorization.current().user_id),
            key="api_tokens", serialize=_token_body, order_by="-created_at",
            columns=ORDER_COLUMNS, primary_key=ApiToken.id, limit=limit, offset=offset)


def create_api_token(body: dict):
    secret, digest = tokens.new_personal_token()
    now = utcnow()
    days = body.get("expires_in_days")
    with session() as sess:
        token = ApiToken(user_id=authorization.current().user_id, name=body["name"], token_digest=digest,
                         created_at=now, expires_at=now + timedelta(days=days) if days else None)
        sess.add(token)
        sess.flush()
        created = {**_token_body(token), "token": secret}
        return resources.ok(created, 201, {"Location": resources.location(str(token.id)),
                                           **NO_STORE})


def revoke_api_token(token_id: int):
    with session() as sess:
        gone = sess.execute(delete(ApiToken).where(ApiToken.id == token_id,
                                                   ApiToken.user_id == authorization.current().user_id))
        if gone.rowcount == 0:
            raise NotFound(f"You have no API token {token_id}.")
    return resources.deleted()
