"""What a store's run listing offers (``Store.run_index``): the folder store's is ``index.RunIndex`` (SQLite), the
shared store's ``stores.shared.listing.SharedListing`` (PostgreSQL).
"""

from __future__ import annotations

from typing import Any, Protocol, Unpack

from ..listing_filters import ListingFilters


class RunListing(Protocol):
    """A store's run listing: newest first, filtered, one page per cursor (``index.RunIndex`` for folders)."""

    def query(self, **filters: Unpack[ListingFilters]) -> tuple[list[dict[str, Any]], str | None]:
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
