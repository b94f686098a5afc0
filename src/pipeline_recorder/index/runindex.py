"""RunIndex: newest-first listings of a store's runs, filtered and paged, answered from the index database."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ..stores.base import RunListing
from .freshness import SyncedIndex
from .query import DEFAULT_LIMIT, MAX_LIMIT, listing


class RunIndex(SyncedIndex):
    """An SQLite index of the runs under ``store``, answering newest-first listings with filters and a cursor.

    ``db_path`` defaults to ``{store.runs_dir}/.index/runs.sqlite3`` (a helper folder, so never a run). Safe to use
    from several threads (calls are serialised) and several processes (WAL mode).
    """

    def __enter__(self) -> RunIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def query(
        self,
        *,
        config_name: str | None = None,
        user_id: str | None = None,
        status: str | None = None,
        since: str | datetime | None = None,
        until: str | datetime | None = None,
        cursor: str | None = None,
        limit: int = DEFAULT_LIMIT,
        kind: str | None = None,
        session_id: str | None = None,
        device_id: str | None = None,
        tag: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Runs newest first (by ``timestamp``, then run id), filtered, one page at a time.

        ``since`` <= timestamp < ``until`` (ISO 8601). Returns ``(summaries, next_cursor)``; ``next_cursor`` is
        None on the last page. Pages stay stable when new runs are added: a cursor names a position, not an offset.
        ``kind``, ``session_id``, ``device_id`` select runs with that field; ``tag`` runs that carry the tag.
        Raises ValidationError for a bad filter, cursor or limit (1 to 200).
        """
        page = listing(config_name=config_name, user_id=user_id, status=status, since=since, until=until,
                       cursor=cursor, limit=limit, kind=kind, session_id=session_id, device_id=device_id, tag=tag)
        if not self.runs_dir.is_dir():
            return [], None  # no store yet: create nothing for a listing

        def fetch(conn: sqlite3.Connection) -> list[Any]:
            self._refresh(conn)
            return conn.execute(page.sql, page.params).fetchall()

        return page.result(self._use(fetch))

    def count(self) -> int:
        """How many runs the index lists (after a refresh)."""
        if not self.runs_dir.is_dir():
            return 0

        def count(conn: sqlite3.Connection) -> int:
            self._refresh(conn)
            return int(conn.execute("SELECT count(*) FROM runs").fetchone()[0])

        return self._use(count)


def iter_all(index: RunListing, **filters: Any) -> Iterable[dict[str, Any]]:
    """Every run matching ``filters``, newest first, page by page (for tools that want the whole list)."""
    cursor: str | None = None
    while True:
        page, cursor = index.query(cursor=cursor, limit=MAX_LIMIT, **filters)
        yield from page
        if cursor is None:
            return
