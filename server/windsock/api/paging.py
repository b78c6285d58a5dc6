"""Collections: limit/offset paging, allow-listed ordering, total counts and Link headers."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import flask
from sqlalchemy import ColumnElement, Select, Table, True_, func, select
from sqlalchemy.orm import Session

from windsock import config
from windsock.api.problems import BadRequest
from windsock.api.resources import Response, ok


DEFAULT_LIMIT = 100  # the contract's default `limit` and `page_limit`


def _default_limit() -> int:
    """A list form's page size when it names none: as the served contract says, the default
    or the configured maximum if that is lower. (A larger `limit` or `page_limit` never gets
    here: the request validators hold it to the contract's configured `maximum`.)"""
    return min(DEFAULT_LIMIT, config.get_int("api", "maximum_page_limit"))


def _ordering(order_by: str, columns: Mapping[str, ColumnElement],
              primary_key: ColumnElement | Sequence[ColumnElement]) -> list[ColumnElement]:
    name = order_by.removeprefix("-")
    if name not in columns:
        raise BadRequest(f"Cannot order by {name!r}; allowed: {', '.join(sorted(columns))}.")
    descending = order_by.startswith("-")
    column = columns[name]
    keys = primary_key if isinstance(primary_key, Sequence) else [primary_key]
    # NULLs sort last ascending and first descending on every database (PostgreSQL's rule).
    return [column.desc().nulls_first() if descending else column.asc().nulls_last(),
            *(key.desc() if descending else key.asc() for key in keys)]


def _count(stmt: Select) -> Select:
    """COUNT(*) of the rows of `stmt`. From its table itself when it reads one table (no join),
    with its conditions but none that is always true: a database counts that from an index (and
    SQLite counts a whole table without reading its rows), where a count over `stmt` as a
    subquery reads every row of it."""
    froms = stmt.get_final_froms()
    if len(froms) != 1 or not isinstance(froms[0], Table):
        return select(func.count()).select_from(stmt.order_by(None).subquery())
    count = select(func.count()).select_from(froms[0])
    condition = stmt.whereclause  # a lone true() (a caller allowed every DAG) comes wrapped
    always = condition is None or isinstance(getattr(condition, "element", condition), True_)
    return count if always else count.where(condition)


def _link_header(limit: int, offset: int, total: int) -> str | None:
    args = flask.request.args.to_dict(flat=True)
    links = []
    if offset + limit < total:
        links.append((offset + limit, "next"))
    if offset > 0:
        links.append((max(offset - limit, 0), "prev"))
    parts = []
    for target, rel in links:
        query = urlencode({**args, "limit": limit, "offset": target})
        parts.append(f'<{flask.request.path}?{query}>; rel="{rel}"')
    return ", ".join(parts) or None


def collection(
    session: Session,
    stmt: Select,
    *,
    key: str,
    serialize: Callable[[Any], dict],
    order_by: str,
    columns: Mapping[str, ColumnElement],
    primary_key: ColumnElement | Sequence[ColumnElement],
    limit: int | None,
    offset: int,
    links: bool = True,
) -> Response:
    """Run one page of `stmt` and answer `{key: [...], total_entries}` with Link headers
    (unless `links` is false, as for the POST `.../list` forms, whose pages are not URLs).

    `limit` is None when a list form leaves `page_limit` out (connexion fills in the defaults
    of query parameters, not of bodies). Ties in `order_by` are broken by `primary_key`
    (several columns for a composite key). Costs two queries whatever the page or table size:
    one COUNT, one page.
    """
    limit = _default_limit() if limit is None else limit
    ordering = _ordering(order_by, columns, primary_key)
    total = session.scalar(_count(stmt))
    page = stmt.order_by(*ordering).limit(limit).offset(offset)
    # One selected entity gives the objects themselves; several give rows of them.
    rows: Sequence[Any] = (session.scalars(page) if len(stmt.column_descriptions) == 1
                           else session.execute(page)).all()
    link = _link_header(limit, offset, total) if links else None
    return ok({key: [serialize(row) for row in rows], "total_entries": total},
              headers={"Link": link} if link else None)


def listed(items: Sequence[dict], *, key: str, limit: int | None, offset: int) -> Response:
    """One page of a list held in memory (plugins: what the process loaded, not rows), in the
    same shape and with the same Link headers as `collection`."""
    limit = _default_limit() if limit is None else limit
    total = len(items)
    link = _link_header(limit, offset, total)
    return ok({key: list(items[offset:offset + limit]), "total_entries": total},
              headers={"Link": link} if link else None)
