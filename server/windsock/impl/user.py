"""User operations: list, create, read, update and delete users and the roles they hold.

The password is write-only: only its Argon2id hash is stored and no answer contains either.
Usernames and email addresses are unique (409). A user cannot delete themselves (409).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session, selectinload

from windsock.api import paging, resources
from windsock.api.problems import Conflict, Unprocessable
from windsock.api.representations import iso
from windsock.db.engine import session
from windsock.db.models import Role, User, UserSession, user_role, utcnow
from windsock.security import authorization
from windsock.security.passwords import hash_password

# The first (alphabetically) of a user's roles, for `order_by=role`; NULL without roles.
FIRST_ROLE = (select(func.min(Role.name)).join(user_role, user_role.c.role_id == Role.id)
              .where(user_role.c.user_id == User.id).scalar_subquery())
ORDER_COLUMNS = {"username": User.username, "email": User.email,
                 "first_name": User.first_name, "last_name": User.last_name,
                 "created_on": User.created_at, "changed_on": User.changed_on,
                 "last_login": User.last_login, "login_count": User.login_count,
                 # Airflow 2's names for the same sorts
                 "id": User.id, "user_name": User.username, "is_active": User.active,
                 "role": FIRST_ROLE}
DEFAULT_ROLES = [{"name": "Public"}]  # what a user created without `roles` holds
PLAIN_FIELDS = ("first_name", "last_name", "username", "email", "active")


def _body(user: User) -> dict:
    return {
        "first_name": user.first_name, "last_name": user.last_name,
        "username": user.username, "email": user.email, "active": user.active,
        "last_login": iso(user.last_login), "login_count": user.login_count,
        "failed_login_count": user.failed_login_count,
        "roles": [{"name": name} for name in sorted(role.name for role in user.roles)],
        "created_on": iso(user.created_at), "changed_on": iso(user.changed_on),
    }


def _find(sess: Session, username: str) -> User:
    return resources.get_or_404(sess, User.username, username, "User")


def _roles(sess: Session, references: Iterable[dict]) -> list[Role]:
    """The roles named in `references` ([{"name": ...}]); 422 naming those that do not exist."""
    names = [ref["name"] for ref in references]
    found = {role.name: role for role in
             sess.scalars(select(Role).where(Role.name.in_(names)))} if names else {}
    unknown = [name for name in names if name not in found]
    if unknown:
        raise Unprocessable(f"No role is called {', '.join(map(repr, unknown))}; "
                            "GET /roles lists the roles that exist.")
    return [found[name] for name in names]


def _check_unique(sess: Session, fields: dict, user_id: int | None = None) -> None:
    """409 naming the username or email address in `fields` that another user already has."""
    wanted = {name: fields[name] for name in ("username", "email") if name in fields}
    if not wanted:
        return
    conditions = [or_(*(getattr(User, name) == value for name, value in wanted.items()))]
    if user_id is not None:
        conditions.append(User.id != user_id)
    taken = sess.execute(select(User.username, User.email).where(*conditions)).first()
    if taken is not None:
        name = "username" if taken.username == wanted.get("username") else "email"
        raise Conflict(f"The {name} {wanted[name]!r} is taken by another user.")


def _flush(sess: Session, user: User) -> None:
    """Write the user now; a concurrent request taking the same name or address loses with 409."""
    resources.flush_or_conflict(sess, f"The username {user.username!r} or the email "
                                      f"{user.email!r} is taken by another user.")


def _apply(sess: Session, user: User, changes: dict) -> None:
    """Set the changed fields: a password is hashed (ending the user's sessions), roles are
    replaced as a whole."""
    for field in PLAIN_FIELDS:
        if field in changes:
            setattr(user, field, changes[field])
    if "roles" in changes:
        user.roles = _roles(sess, changes["roles"])
    if "password" in changes:
        user.password_hash = hash_password(changes["password"])
        sess.execute(delete(UserSession).where(UserSession.user_id == user.id))


def get_users(limit: int, offset: int, order_by: str):
    with session() as sess:
        return paging.collection(
            sess, select(User).options(selectinload(User.roles)), key="users", serialize=_body,
            order_by=order_by, columns=ORDER_COLUMNS, primary_key=User.id,
            limit=limit, offset=offset)


def get_user(username: str):
    with session() as sess:
        return resources.single(_body(_find(sess, username)))


def post_user(body: dict):
    with session() as sess:
        _check_unique(sess, body)
        now = utcnow()
        user = User(username=body["username"], email=body["email"],
                    first_name=body["first_name"], last_name=body["last_name"],
                    password_hash=hash_password(body["password"]), active=True,
                    roles=_roles(sess, body.get("roles", DEFAULT_ROLES)),
                    created_at=now, changed_on=now)
        sess.add(user)
        _flush(sess, user)
        return resources.created(_body(user), resources.location(user.username))


def patch_user(username: str, body: dict, update_mask: list[str] | None = None):
    with session() as sess:
        user = _find(sess, username)
        before = _body(user)
        resources.check_if_match(before)
        changes = resources.changes(body, update_mask)
        _check_unique(sess, changes, user.id)
        _apply(sess, user, changes)
        if "password" in changes or _body(user) != before:
            user.changed_on = utcnow()
        _flush(sess, user)
        return resources.updated(_body(user))


def delete_user(username: str):
    with session() as sess:
        user = _find(sess, username)
        if user.id == authorization.current().user_id:
            raise Conflict(f"User {username!r} is the caller: nobody can delete themselves. "
                           "Another user with can_delete on Users can, or set 'active' to "
                           "false to lock the account instead.")
        resources.check_if_match(_body(user))
        sess.delete(user)
        return resources.deleted()
