"""Variable operations."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from windsock.api import bulk, paging, resources
from windsock.api.guard import authorize
from windsock.api.problems import Conflict
from windsock.db.engine import locked, session
from windsock.db.models import Variable
from windsock.security import authorization
from windsock.security.model import EDIT
from windsock.masking import masked

ORDER_COLUMNS = {"key": Variable.key, "value": Variable.val, "id": Variable.id}


def _body(var: Variable, *, mask: bool) -> dict:
    value = masked(var.key, var.val) if mask else var.val
    return {"key": var.key, "value": value, "description": var.description}


def _find(sess, key: str) -> Variable:
    return resources.get_or_404(sess, Variable.key, key, "Variable")


def get_variables(limit: int, offset: int, order_by: str):
    with session() as sess:
        return paging.collection(
            sess, select(Variable), key="variables", serialize=lambda v: _body(v, mask=True),
            order_by=order_by, columns=ORDER_COLUMNS, primary_key=Variable.id,
            limit=limit, offset=offset)


def get_variable(variable_key: str):
    with session() as sess:
        return resources.single(_body(_find(sess, variable_key), mask=False))


def _create(sess, body: dict) -> Variable:
    var = Variable(key=body["key"], val=body["value"], description=body.get("description"))
    sess.add(var)
    resources.flush_or_conflict(sess, f"Variable {var.key!r} already exists.")
    return var


def _update(_sess, var: Variable, body: dict, update_mask: list[str] | None) -> None:
    for field, value in resources.changes(body, update_mask, ("key", var.key)).items():
        setattr(var, "val" if field == "value" else field, value)


KEYED = bulk.Keyed("Variables", "key", _find, _create, _update, Session.delete)


def _created(sess, body: dict) -> Variable | None:
    """The variable inserted from `body`, or None when a concurrent request inserted its key
    first (that request's row is then visible and locked by the next read)."""
    try:
        with sess.begin_nested():
            return _create(sess, body)
    except Conflict:
        return None


def _locked(sess, key: str) -> Variable | None:
    return sess.scalar(locked(select(Variable).where(Variable.key == key)))


def post_variables(body: dict):
    """Create the variable (201), or, as Airflow 2 does, replace the value and description of the
    one that has the key (200; that is an edit, so it also needs can_edit on Variables)."""
    with session() as sess:
        var = _locked(sess, body["key"])
        if var is None:
            var = _created(sess, body)
            if var is not None:
                return resources.created(_body(var, mask=False), resources.location(var.key))
            var = _locked(sess, body["key"])
        authorize(authorization.current(), [(EDIT, "Variables")])
        var.val, var.description = body["value"], body.get("description")
        return resources.updated(_body(var, mask=False))


def patch_variable(variable_key: str, body: dict, update_mask: list[str] | None = None):
    with session() as sess:
        var = _find(sess, variable_key)
        resources.check_if_match(_body(var, mask=False))
        _update(sess, var, body, update_mask)
        return resources.updated(_body(var, mask=False))


def delete_variable(variable_key: str):
    with session() as sess:
        var = _find(sess, variable_key)
        resources.check_if_match(_body(var, mask=False))
        sess.delete(var)
        return resources.deleted()


def bulk_variables(body: dict):
    return bulk.answer(KEYED, body, "bulk_variables")
