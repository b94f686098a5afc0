"""The shared store's run listing: newest first, filtered, paged by cursor, answered from the ``runs`` table.

Filters, page size and cursor are checked by the same functions as the folder store's SQLite index
(``index.query``), and cursors are the same tokens, so both stores give the same answers to the same question.
Liveness is applied in SQL with the database's clock: a ``running`` run whose leases have all expired is listed,
and filtered, as ``interrupted``.
"""

from __future__ import annotations

from typing import Any, Unpack

import psycopg

from ...index import query, search
from ...listing_filters import ListingFilters
from .database import Database

# A running run reads as interrupted once every lease of its writers has expired (all clocks: the database's).
_STATUS = ("CASE WHEN status = 'running' AND NOT coalesce(lease_expires_at > now(), false) THEN 'interrupted' "
           "ELSE status END")
_STATUS_FILTERS = {
    "running": "status = 'running' AND lease_expires_at > now()",
    "interrupted": "(status = 'interrupted' OR (status = 'running' AND NOT coalesce(lease_expires_at > now(), "
                   "false)))",
}
# The listing's conditions in PostgreSQL (index/query.py builds them for both stores); the GIN index answers tags.
_POSTGRES = query.Dialect("%s", "tags @> jsonb_build_array(%s::text)", _STATUS_FILTERS)


def page_query(**filters: Unpack[ListingFilters]) -> query.Listing:
    """The SQL of one listing page (PostgreSQL), selecting ``ts_us, run_id, status, summary`` rows in the order
    and shape ``query.Listing.result`` turns into summaries and the next cursor. ValidationError for bad input."""
    # The folder store's checks and cursor, so that both stores accept and answer the same.
    checked = query.check_listing(**filters)
    where, params = checked.conditions(_POSTGRES)
    if checked.q is not None:  # full-text search: the words of index/search.py, in run_words (migration 3)
        where.append("run_id IN (SELECT run_id FROM run_words WHERE vector @@ to_tsquery('simple', %s))")
        params.append(search.postgres_tsquery(checked.q))
    sql = f"SELECT ts_us, run_id, {_STATUS}, summary FROM runs"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY ts_us DESC, run_id DESC LIMIT %s"
    params.append(checked.page + 1)
    return query.Listing(sql, tuple(params), checked.page)


def list_runs(db: Database, **filters: Unpack[ListingFilters]) -> tuple[list[dict[str, Any]], str | None]:
    """``(summaries, next_cursor)`` of one page (see ``page_query``)."""
    page = page_query(**filters)
    with db.connection("list runs") as conn:
        rows = conn.execute(page.sql.encode(), page.params).fetchall()
    return page.result(rows)


def count_runs(db: Database) -> int:
    with db.connection("count runs") as conn:
        row = conn.execute("SELECT count(*) FROM runs").fetchone()
    return int(row[0]) if row else 0


def add_words(conn: psycopg.Connection[Any], run_id: str, texts: list[str]) -> None:
    """Add the words of a run's new text entities to what search finds it by, in the caller's transaction (which
    holds the run's row). The words are joined and bounded exactly as the folder store joins a run's texts."""
    if not texts:
        return
    row = conn.execute("SELECT words FROM run_words WHERE run_id = %s", (run_id,)).fetchone()
    words = search.words_text([str(row[0]) if row else "", *texts])
    conn.execute("INSERT INTO run_words (run_id, words) VALUES (%s, %s) ON CONFLICT (run_id) DO UPDATE SET "
                 "words = excluded.words", (run_id, words))


class SharedListing:
    """The store's run listing (``Store.run_index``): always current, since every commit updates its rows."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def query(self, **filters: Unpack[ListingFilters]) -> tuple[list[dict[str, Any]], str | None]:
        return list_runs(self._db, **filters)

    def count(self) -> int:
        return count_runs(self._db)

    def note(self, run_id: str) -> None:
        """Nothing to do: the listing is the database, which every change updates in its transaction."""

    def skipped(self) -> list[str]:
        """None: every run is listed from the database, which holds only documents its writers committed."""
        return []

    def close(self) -> None:
        """Nothing to close: the listing uses the store's pool."""
