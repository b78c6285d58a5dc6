"""Collections: limit/offset or cursor paging, allow-listed ordering by up to MAX_ORDER_KEYS
fields, total counts and Link headers."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import flask
from sqlalchemy import ColumnElement, Select, Table, True_, func, select
from sqlalchemy.orm import Session

from windsock import config
from windsock.api import cursors
from windsock.api.cursors import Key
from windsock.api.problems import BadRequest
from windsock.api.resources import Response, ok


DEFAULT_LIMIT = 100  # the contract's default `limit` and `page_limit`
MAX_ORDER_KEYS = 5
PAGE_ARGUMENTS = frozenset({"limit", "offset", "cursor", "fields",  # not what a cursor is bound to
                            "page_limit", "page_offset"})


def _default_limit() -> int:
    """A list form's page size when it names none: as the served contract says, the default
    or the configured maximum if that is lower. (A larger `limit` or `page_limit` never gets
    here: the request validators hold it to the contract's configured `maximum`.)"""
    return min(DEFAULT_LIMIT, config.get_int("api", "maximum_page_limit"))


def order_keys(order_by: str, allowed: Collection[str]) -> list[tuple[str, bool]]:
    """The fields a list is sorted by, each with whether it is descending: `order_by`, or every
    value of the query's `order_by` when the query repeats it (connexion passes and checks one
    of them). 400 for a field not `allowed`, a field named twice or more than MAX_ORDER_KEYS."""
    values = flask.request.args.getlist("order_by")
    if order_by not in values:  # a list form's body, or an operation's fixed order
        values = [order_by]
    if len(values) > MAX_ORDER_KEYS:
        raise BadRequest(f"order_by names {len(values)} fields; at most {MAX_ORDER_KEYS} "
                         "are allowed.")
    keys = [(value.removeprefix("-"), value.startswith("-")) for value in values]
    for position, (name, _) in enumerate(keys):
        if name not in allowed:
            raise BadRequest(f"Cannot order by {name!r}; allowed: {', '.join(sorted(allowed))}.")
        if any(name == earlier for earlier, _ in keys[:position]):
            raise BadRequest(f"order_by names {name!r} more than once.")
    return keys


def _keys(order_by: str, columns: Mapping[str, ColumnElement],
          primary_key: ColumnElement | Sequence[ColumnElement]) -> list[Key]:
    """The sort keys: the requested fields, then the primary key's columns that they do not
    name, in the direction of the last field (ties are broken by the primary key)."""
    keys = [(columns[name], descending) for name, descending in order_keys(order_by, columns)]
    named = [column for column, _ in keys]
    last = keys[-1][1]
    for column in primary_key if isinstance(primary_key, Sequence) else [primary_key]:
        if not any(column is other for other in named):
            keys.append((column, last))
    return keys


def _sorted(stmt: Select, keys: Sequence[Key]) -> Select:
    """`stmt` in the order of `keys`. NULLs sort last ascending and first descending on every
    database (PostgreSQL's rule); a column without NULLs says nothing of them, so an index on
    it serves the order on SQLite too."""
    return stmt.order_by(*(
        (column.desc() if descending else column.asc()) if not cursors.nullable(column)
        else (column.desc().nulls_first() if descending else column.asc().nulls_last())
        for column, descending in keys))


def _single_table(stmt: Select) -> Table | None:
    """The one table `stmt` reads from, None when it reads several, a join or a subquery.
    (`Select.get_final_froms()` says so too, but compiles the statement to find out: a tenth of
    the CPU of a list request. Joins and `select_from` are only seen in private attributes.)"""
    if stmt._setup_joins or stmt._from_obj:
        return None
    implied = [*stmt.columns_clause_froms,
               *(() if stmt.whereclause is None else stmt.whereclause._from_objects)]
    if not all(isinstance(each, Table) for each in implied):
        return None
    tables = {(each.schema, each.name): each for each in implied}
    return next(iter(tables.values())) if len(tables) == 1 else None


def _count(stmt: Select) -> Select:
    """COUNT(*) of the rows of `stmt`. From its table itself when it reads one table (no join),
    with its conditions but none that is always true: a database counts that from an index (and
    SQLite counts a whole table without reading its rows), where a count over `stmt` as a
    subquery reads every row of it."""
    table = _single_table(stmt)
    if table is None:
        return select(func.count()).select_from(stmt.order_by(None).subquery())
    count = select(func.count()).select_from(table)
    condition = stmt.whereclause  # a lone true() (a caller allowed every DAG) comes wrapped
    always = condition is None or isinstance(getattr(condition, "element", condition), True_)
    return count if always else count.where(condition)


def _link_header(pages: Sequence[tuple[str, Mapping[str, Any]]]) -> str | None:
    """RFC 8288 links to the pages named by `(rel, arguments)`: this request's URL with those
    arguments replacing its own (every value of a repeated argument, such as `order_by`, kept)."""
    parts = []
    for rel, changed in pages:
        kept = [(name, value) for name, value in flask.request.args.items(multi=True)
                if name not in changed]
        query = urlencode([*kept, *changed.items()])
        parts.append(f'<{flask.request.path}?{query}>; rel="{rel}"')
    return ", ".join(parts) or None


def _offset_links(limit: int, offset: int, total: int) -> str | None:
    pages = []
    if offset + limit < total:
        pages.append(("next", {"limit": limit, "offset": offset + limit}))
    if offset > 0:
        pages.append(("prev", {"limit": limit, "offset": max(offset - limit, 0)}))
    return _link_header(pages)


def _rows(session: Session, stmt: Select) -> Sequence[Any]:
    """One selected entity gives the objects themselves; several give rows of them."""
    return (session.scalars(stmt) if len(stmt.column_descriptions) == 1
            else session.execute(stmt)).all()


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
    cursor: str | None = None,
    form: Mapping[str, Any] | None = None,
) -> Response:
    """Run one page of `stmt` and answer `{key: [...], total_entries}` with Link headers
    (unless `links` is false, as for the POST `.../list` forms, whose pages are not URLs).

    `limit` is None when a list form leaves `page_limit` out (connexion fills in the defaults
    of query parameters, not of bodies). Ties in `order_by` are broken by `primary_key`
    (several columns for a composite key). Costs two queries whatever the page or table size:
    one COUNT, one page. With a `cursor` (of a list that offers them), a cursor page instead
    (`_cursor_page`); `form` is the list form's body, for lists asked for by one.
    """
    limit = _default_limit() if limit is None else limit
    if cursor is not None:
        query = form if form is not None else {
            name: flask.request.args.getlist(name) for name in flask.request.args}
        if _skips(query.get("offset")) or _skips(query.get("page_offset")):
            raise BadRequest("'cursor' and 'offset' ('page_offset' in a list form) both say "
                             "where a page starts; send one of them.")
        return _cursor_page(session, stmt, key=key, serialize=serialize,
                            keys=_keys(order_by, columns, primary_key), limit=limit,
                            cursor=cursor, query=query, links=links)
    total = session.scalar(_count(stmt))
    page = _sorted(stmt, _keys(order_by, columns, primary_key)).limit(limit).offset(offset)
    rows = _rows(session, page)
    link = _offset_links(limit, offset, total) if links else None
    return ok({key: [serialize(row) for row in rows], "total_entries": total},
              headers={"Link": link} if link else None)


def _skips(offset: Any) -> bool:
    """Whether an offset (a query's list of values, or a form's number) skips any item: its
    default, 0, says nothing against a cursor, and generated clients (Go's) send it."""
    values = offset if isinstance(offset, list) else [] if offset is None else [offset]
    return any(int(value) != 0 for value in values)


def _value(row: Any, column: ColumnElement) -> Any:
    """`column`'s value in a row of entities (or in the entity itself)."""
    entities = row if isinstance(row, Sequence) else [row]
    owner = next(e for e in entities if isinstance(e, column.class_))
    return getattr(owner, column.key)


def _cursor_page(session: Session, stmt: Select, *, key: str,
                 serialize: Callable[[Any], dict], keys: Sequence[Key], limit: int,
                 cursor: str, query: Mapping[str, Any], links: bool) -> Response:
    """One page of `stmt` after (or, for a previous page, before) the row that `cursor` names,
    or the first page for an empty `cursor`: `{key: [...], total_entries, next_cursor,
    previous_cursor}` without a COUNT (`total_entries` is the number of items on the page).
    A cursor is bound to `query` (the request's filters and order) and refused for another.
    One query whatever the page or table size: the page and one row more, read from an index
    on the sort keys. With `links`, Link headers to the next and previous pages as well."""
    digest = cursors.query_digest(flask.request.path, {
        name: value for name, value in query.items() if name not in PAGE_ARGUMENTS})
    position = cursors.decode(cursor, digest, len(keys)) if cursor else None
    backward = position is not None and position.backward
    read = cursors.reversed_keys(keys) if backward else keys
    if position is not None:
        stmt = stmt.where(cursors.after(read, position.values))
    rows = list(_rows(session, _sorted(stmt, read).limit(limit + 1)))
    more, rows = len(rows) > limit, rows[:limit]
    if backward:
        rows.reverse()

    def at(row: Any, *, before: bool) -> str:
        values = [_value(row, column) for column, _ in keys]
        return cursors.encode(cursors.Position(values, before), digest)

    # Reading forward, rows before the page exist when a cursor led here; reading backward,
    # rows after it do. The other side has more rows when the page read one row beyond it.
    has_next = more if not backward else True
    has_previous = position is not None if not backward else more
    following = at(rows[-1], before=False) if rows and has_next else None
    preceding = at(rows[0], before=True) if rows and has_previous else None
    link = _link_header([(rel, {"limit": limit, "cursor": target})
                         for rel, target in (("next", following), ("prev", preceding))
                         if target]) if links else None
    return ok({key: [serialize(row) for row in rows], "total_entries": len(rows),
               "next_cursor": following, "previous_cursor": preceding},
              headers={"Link": link} if link else None)


def listed(items: Sequence[dict], *, key: str, limit: int | None, offset: int) -> Response:
    """One page of a list held in memory (plugins: what the process loaded, not rows), in the
    same shape and with the same Link headers as `collection`."""
    limit = _default_limit() if limit is None else limit
    total = len(items)
    link = _offset_links(limit, offset, total)
    return ok({key: list(items[offset:offset + limit]), "total_entries": total},
              headers={"Link": link} if link else None)
