"""RunIndex: newest-first listings of a store's runs, filtered and paged, answered from the index database."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any, Unpack

from ..listing_filters import ListingFilters
from ..stores.base import RunListing
from .freshness import SyncedIndex
from .query import MAX_LIMIT, listing


class RunIndex(SyncedIndex):
    """An SQLite index of the runs under ``store``, answering newest-first listings with filters and a cursor.

    ``db_path`` defaults to ``{store.runs_dir}/.index/runs.sqlite3`` (a helper folder, so never a run). Safe to use
    from several threads (calls are serialised) and several processes (WAL mode).
    """

    def __enter__(self) -> RunIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def query(self, **filters: Unpack[ListingFilters]) -> tuple[list[dict[str, Any]], str | None]:
        """Runs newest first (by ``timestamp``, then run id), filtered, one page at a time.

        ``since`` <= timestamp < ``until`` (ISO 8601). Returns ``(summaries, next_cursor)``; ``next_cursor`` is
        None on the last page. Pages stay stable when new runs are added: a cursor names a position, not an offset.
        ``kind``, ``session_id``, ``device_id`` select runs with that field; ``tag`` runs that carry the tag.
        ``q``: only runs whose texts hold every word of it, as word starts (full-text search: ``search.py``).
        Raises ValidationError for a bad filter, cursor, limit (1 to 200) or ``q``.
        """
        page = listing(**filters)
        if not self.runs_dir.is_dir():
            return [], None  # no store yet: create nothing for a listing

        def fetch(conn: sqlite3.Connection) -> list[Any]:
            self._refresh(conn)
            return page.fetch(conn)

        return page.result(self._use(fetch))

    def count(self) -> int:
        """How many runs the index lists (after a refresh)."""
        if not self.runs_dir.is_dir():
            return 0

        def count(conn: sqlite3.Connection) -> int:
            self._refresh(conn)
            return int(conn.execute("SELECT count(*) FROM runs").fetchone()[0])

        return self._use(count)


    def compact(self) -> None:
        """Forget the runs that are gone, then rewrite the index file so that nothing of them stays readable in it:
        full-text tables merged (which drops the terms of deleted rows), the file rebuilt without its free pages
        (VACUUM), the write-ahead log emptied (erasure, ops/erase.py)."""
        if not self.runs_dir.is_dir():
            return

        def compact(conn: sqlite3.Connection) -> None:
            self._refresh(conn)
            for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND "
                                        "lower(sql) LIKE 'create virtual table%using fts5%'").fetchall():
                conn.execute(f'INSERT INTO "{name}"("{name}") VALUES (\'optimize\')')
            conn.execute("VACUUM")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

        self._use(compact)


def iter_all(index: RunListing, **filters: Any) -> Iterable[dict[str, Any]]:
    """Every run matching ``filters``, newest first, page by page (for tools that want the whole list)."""
    cursor: str | None = None
    while True:
        page, cursor = index.query(cursor=cursor, limit=MAX_LIMIT, **filters)
        yield from page
        if cursor is None:
            return
