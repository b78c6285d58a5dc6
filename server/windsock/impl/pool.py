"""Pool operations. `default_pool` always exists: it cannot be deleted or renamed."""

from __future__ import annotations

from sqlalchemy import select

from windsock.api import bulk, paging, resources
from windsock.api.problems import Conflict
from windsock.db.engine import session
from windsock.db.models import DEFAULT_POOL, Pool
from windsock.db.pool_usage import SlotUsage, slot_usage

ORDER_COLUMNS = {"name": Pool.pool, "slots": Pool.slots, "id": Pool.id}
ATTRIBUTES = {"name": "pool"}


def _body(pool: Pool, usage: SlotUsage) -> dict:
    occupied = usage.occupied(pool.include_deferred)
    return {
        "name": pool.pool, "slots": pool.slots, "description": pool.description,
        "include_deferred": pool.include_deferred,
        "occupied_slots": occupied, "running_slots": usage.running,
        "queued_slots": usage.queued, "scheduled_slots": usage.scheduled,
        "deferred_slots": usage.deferred,
        "open_slots": -1 if pool.slots == -1 else max(pool.slots - occupied, 0),
    }


def _one(sess, pool: Pool) -> dict:
    return _body(pool, slot_usage(sess, [pool.pool])[pool.pool])


def _find(sess, name: str) -> Pool:
    return resources.get_or_404(sess, Pool.pool, name, "Pool")


def get_pools(limit: int, offset: int, order_by: str):
    with session() as sess:
        response = paging.collection(
            sess, select(Pool), key="pools", serialize=lambda p: p, order_by=order_by,
            columns=ORDER_COLUMNS, primary_key=Pool.id, limit=limit, offset=offset)
        pools = response[0]["pools"]
        usage = slot_usage(sess, [p.pool for p in pools])
        response[0]["pools"] = [_body(p, usage[p.pool]) for p in pools]
        return response


def get_pool(pool_name: str):
    with session() as sess:
        return resources.single(_one(sess, _find(sess, pool_name)))


def _create(sess, body: dict) -> Pool:
    pool = Pool(pool=body["name"], slots=body["slots"], description=body.get("description"),
                include_deferred=body.get("include_deferred", False))
    sess.add(pool)
    resources.flush_or_conflict(sess, f"Pool {pool.pool!r} already exists.")
    return pool


def _update(sess, pool: Pool, body: dict, update_mask: list[str] | None) -> None:
    changes = resources.changes(body, update_mask)
    if changes.get("name", pool.pool) != pool.pool and pool.pool == DEFAULT_POOL:
        raise Conflict(f"{DEFAULT_POOL} cannot be renamed.")
    for field, value in changes.items():
        setattr(pool, ATTRIBUTES.get(field, field), value)
    resources.flush_or_conflict(sess, f"Pool {pool.pool!r} already exists.")


def _delete(sess, pool: Pool) -> None:
    if pool.pool == DEFAULT_POOL:
        raise Conflict(f"{DEFAULT_POOL} cannot be deleted; it runs every task that names "
                       "no other pool.")
    sess.delete(pool)


KEYED = bulk.Keyed("Pools", "name", _find, _create, _update, _delete)


def post_pool(body: dict):
    with session() as sess:
        pool = _create(sess, body)
        return resources.created(_one(sess, pool), resources.location(pool.pool))


def patch_pool(pool_name: str, body: dict, update_mask: list[str] | None = None):
    with session() as sess:
        pool = _find(sess, pool_name)
        resources.check_if_match(_one(sess, pool))
        _update(sess, pool, body, update_mask)
        return resources.updated(_one(sess, pool))


def delete_pool(pool_name: str):
    with session() as sess:
        pool = _find(sess, pool_name)
        resources.check_if_match(_one(sess, pool))
        _delete(sess, pool)
        return resources.deleted()


def bulk_pools(body: dict):
    return bulk.answer(KEYED, body, "bulk_pools")
