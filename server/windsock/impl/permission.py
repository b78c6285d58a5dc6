"""Permission operations: every action × resource pair that exists, the pairs roles are made of."""

from __future__ import annotations

from sqlalchemy import select

from windsock.api import paging
from windsock.db.engine import session
from windsock.db.models import Action, Permission, Resource
from windsock.impl.role import permission_body

PAIRS = (select(Action.name.label("action"), Resource.name.label("resource"))
         .select_from(Permission).join(Action, Action.id == Permission.action_id)
         .join(Resource, Resource.id == Permission.resource_id))


def _item(row) -> dict:
    """A permission, with its action's name as `name`: Airflow 2's clients read each entry of
    this list as an action."""
    return {"name": row.action, **permission_body(*row)}


def get_permissions(limit: int, offset: int):
    with session() as sess:
        # Sorted by resource, then action; the two names identify a permission.
        return paging.collection(
            sess, PAIRS, key="actions", serialize=_item,
            order_by="resource", columns={"resource": Resource.name}, primary_key=Action.name,
            limit=limit, offset=offset)
