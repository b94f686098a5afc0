"""What a store's run listing offers (``Store.run_index``): the folder store's is ``index.RunIndex`` (SQLite), the
shared store's ``stores.shared.listing.SharedListing`` (PostgreSQL).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol


class RunListing(Protocol):
    """A store's run listing: newest first, filtered, one page per cursor (``index.RunIndex`` for folders)."""

    def query(self, *, config_name: str | None = None, user_id: str | None = None, status: str | None = None,
              since: str | datetime | None = None, until: str | datetime | None = None, cursor: str | None = None,
              limit: int = 50, q: str | None = None,
              # the research fields (runfields.py): a run's kind, session, device, and one of its tags
              kind: str | None = None, session_id: str | None = None, device_id: str | None = None,
              tag: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """``(summaries, next_cursor)``; ``q``: full-text search (``index.search``). ValidationError for a bad
        filter, cursor, limit or ``q``."""
        ...

    def note(self, run_id: str) -> None:
        """The run changed outside the store's writers (a repair): list it afresh."""
        ...

    def skipped(self) -> list[str]:
        """Ids of stored runs the listing leaves out (unreadable, not of the format), for ``ls`` to name."""
        ...

    def close(self) -> None: ...
