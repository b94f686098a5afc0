"""The shared store's run listing: newest first, filtered, paged by cursor, answered from the ``runs`` table.

Filters, page size and cursor are checked by the same functions as the folder store's SQLite index
(``index.query``), and cursors are the same tokens, so both stores give the same answers to the same question.
Liveness is applied in SQL with the database's clock: a ``running`` run whose leases have all expired is listed,
and filtered, as ``interrupted``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ... import runfields
from ...index import query, timestamp_us
from .database import Database

# A running run reads as interrupted once every lease of its writers has expired (all clocks: the database's).
_STATUS = ("CASE WHEN status = 'running' AND NOT coalesce(lease_expires_at > now(), false) THEN 'interrupted' "
           "ELSE status END")
_STATUS_FILTERS = {
    "running": "status = 'running' AND lease_expires_at > now()",
    "interrupted": "(status = 'interrupted' OR (status = 'running' AND NOT coalesce(lease_expires_at > now(), "
                   "false)))",
}


def page_query(*, config_name: object = None, user_id: object = None, status: object = None, since: object = None,
               until: object = None, cursor: object = None, limit: object = query.DEFAULT_LIMIT,
               kind: object = None, session_id: object = None, device_id: object = None,
               tag: object = None) -> query.Listing:
    """The SQL of one listing page (PostgreSQL), selecting ``ts_us, run_id, status, summary`` rows in the order
    and shape ``query.Listing.result`` turns into summaries and the next cursor. ValidationError for bad input."""
    # The folder store's checks and cursor, so that both stores accept and answer the same.
    checked = query.listing(config_name=config_name, user_id=user_id, status=status, since=since, until=until,
                            cursor=cursor, limit=limit, kind=kind, session_id=session_id, device_id=device_id,
                            tag=tag)
    where: list[str] = []
    params: list[Any] = []
    for column, value in (("config_name", config_name), ("user_id", user_id),
                          *query.research_filters(kind=kind, session_id=session_id, device_id=device_id)):
        if value is not None:
            where.append(f"{column} = %s")
            params.append(value)
    if tag is not None:  # checked above; the GIN index answers containment
        where.append("tags @> jsonb_build_array(%s::text)")
        params.append(runfields.check_tag(tag))
    if status is not None:
        where.append(_STATUS_FILTERS.get(str(status), "status = %s"))
        if str(status) not in _STATUS_FILTERS:
            params.append(status)
    since_us, until_us = _bound(since), _bound(until)
    if since_us is not None:
        where.append("ts_us >= %s")
        params.append(since_us)
    if until_us is not None:
        where.append("ts_us < %s")
        params.append(until_us)
    if cursor is not None:
        where.append("(ts_us, run_id) < (%s, %s)")
        params.extend(query.decode_cursor(cursor))
    sql = f"SELECT ts_us, run_id, {_STATUS}, summary FROM runs"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY ts_us DESC, run_id DESC LIMIT %s"
    params.append(checked.page + 1)
    return query.Listing(sql, tuple(params), checked.page)


def _bound(value: object) -> int | None:
    """Microseconds of a time bound that ``query.listing`` has already accepted."""
    if value is None:
        return None
    return timestamp_us(value.isoformat() if isinstance(value, datetime) else str(value).strip())


def list_runs(db: Database, **filters: Any) -> tuple[list[dict[str, Any]], str | None]:
    """``(summaries, next_cursor)`` of one page (see ``page_query``)."""
    page = page_query(**filters)
    with db.connection("list runs") as conn:
        rows = conn.execute(page.sql.encode(), page.params).fetchall()
    return page.result(rows)


def count_runs(db: Database) -> int:
    with db.connection("count runs") as conn:
        row = conn.execute("SELECT count(*) FROM runs").fetchone()
    return int(row[0]) if row else 0


class SharedListing:
    """The store's run listing (``Store.run_index``): always current, since every commit updates its rows."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def query(self, *, config_name: str | None = None, user_id: str | None = None, status: str | None = None,
              since: str | datetime | None = None, until: str | datetime | None = None, cursor: str | None = None,
              limit: int = query.DEFAULT_LIMIT, kind: str | None = None, session_id: str | None = None,
              device_id: str | None = None, tag: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        return list_runs(self._db, config_name=config_name, user_id=user_id, status=status, since=since,
                         until=until, cursor=cursor, limit=limit, kind=kind, session_id=session_id,
                         device_id=device_id, tag=tag)

    def count(self) -> int:
        return count_runs(self._db)

    def note(self, run_id: str) -> None:
        """Nothing to do: the listing is the database, which every change updates in its transaction."""

    def skipped(self) -> list[str]:
        """None: every run is listed from the database, which holds only documents its writers committed."""
        return []

    def close(self) -> None:
        """Nothing to close: the listing uses the store's pool."""
