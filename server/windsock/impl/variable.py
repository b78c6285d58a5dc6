"""Variable operations."""

from __future__ import annotations

from sqlalchemy import select

from windsock.api import paging, resources
from windsock.db.engine import session
from windsock.db.models import Variable
from windsock.masking import masked

ORDER_COLUMNS = {"key": Variable.key}


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


def post_variables(body: dict):
    with session() as sess:
        var = Variable(key=body["key"], val=body["value"], description=body.get("description"))
        sess.add(var)
        resources.flush_or_conflict(sess, f"Variable {var.key!r} already exists.")
        return resources.created(_body(var, mask=False), resources.location(var.key))


def patch_variable(variable_key: str, body: dict, update_mask: list[str] | None = None):
    with session() as sess:
        var = _find(sess, variable_key)
        resources.check_if_match(_body(var, mask=False))
        for field, value in resources.changes(body, update_mask, ("key", variable_key)).items():
            setattr(var, "val" if field == "value" else field, value)
        return resources.updated(_body(var, mask=False))


def delete_variable(variable_key: str):
    with session() as sess:
        var = _find(sess, variable_key)
        resources.check_if_match(_body(var, mask=False))
        sess.delete(var)
        return resources.deleted()
