"""The parameters of a run listing (``Store.run_index().query``): their names and types, written once for the
listing's interface and both stores' listings. Every one may be left out; ``index/query.py`` checks the values.

>>> sorted(ListingFilters.__annotations__)[:3]
['config_name', 'cursor', 'device_id']
"""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict


class ListingFilters(TypedDict, total=False):
    """Runs of a config, a user, a status; started ``since`` <= timestamp < ``until`` (ISO 8601 or a datetime);
    the page after ``cursor``, ``limit`` runs (1 to 200, default 50); of the research fields ``kind``,
    ``session_id``, ``device_id`` and carrying ``tag``; and with ``q``, holding every word of it (full-text)."""

    config_name: str | None
    user_id: str | None
    status: str | None
    since: str | datetime | None
    until: str | datetime | None
    cursor: str | None
    limit: int
    kind: str | None
    session_id: str | None
    device_id: str | None
    tag: str | None
    q: str | None
