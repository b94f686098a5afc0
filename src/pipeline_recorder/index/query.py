"""The run listing's parameters: filters, page size and cursor, checked and turned into one SQL query.

Pure functions, no I/O: every bad value is a ValidationError that says what was wrong and what is accepted.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Unpack

from .. import runfields, runformat
from ..errors import ValidationError
from ..listing_filters import ListingFilters
from ..naming import RUN_ID_PATTERN
from . import search
from .summaries import timestamp_us

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_CURSOR_VERSION = 1


@dataclass(frozen=True)
class Listing:
    """One page's query: ``sql`` with ``params`` selects up to ``page + 1`` rows (the extra one tells of a next
    page) of ``ts_us, run_id, status, summary``."""

    sql: str
    params: tuple[Any, ...]
    page: int
    search: search.SearchPage | None = None  # with ``q``: ``sql`` is unused, the probe picks one of two queries

    def fetch(self, conn: Any) -> list[Any]:
        """The rows of this page from an SQLite connection (the folder index)."""
        if self.search is None:
            return list(conn.execute(self.sql, self.params).fetchall())
        counted = conn.execute(*self.search.probe).fetchone()[0]
        chosen = self.search.by_run if counted < search.FEW_RUNS else self.search.by_key
        return list(conn.execute(*chosen).fetchall())

    def result(self, rows: list[Any]) -> tuple[list[dict[str, Any]], str | None]:
        """The summaries of the rows this query fetched, and the cursor of the next page (None on the last)."""
        summaries = []
        for _, _, row_status, summary in rows[: self.page]:
            item: dict[str, Any] = json.loads(summary)
            item["status"] = row_status
            summaries.append(item)
        last = rows[self.page - 1] if len(rows) > self.page else None
        return summaries, None if last is None else encode_cursor(last[0], last[1])


@dataclass(frozen=True)
class Dialect:
    """How one database writes the listing's conditions: its parameter mark, the condition that a run carries a
    tag (with one mark), and the status filters that are a condition of their own (none: ``status = mark``)."""

    mark: str
    tag: str
    statuses: Mapping[str, str] = field(default_factory=dict)


SQLITE = Dialect("?", "EXISTS (SELECT 1 FROM json_each(runs.tags) WHERE json_each.value = ?)")


@dataclass(frozen=True)
class CheckedListing:
    """The checked parameters of one listing page, from which each store's SQL is built (``conditions``)."""

    equal: tuple[tuple[str, str], ...]  # (column, value) of config_name, user_id, kind, session_id, device_id
    status: str | None
    tag: str | None
    since_us: int | None
    until_us: int | None
    cursor: tuple[int, str] | None
    page: int
    q: str | None

    def conditions(self, dialect: Dialect) -> tuple[list[str], list[Any]]:
        """The conditions on the ``runs`` table (all must hold) and their parameters, in ``dialect``: every filter
        but ``q``, which each store searches in its own way."""
        mark = dialect.mark
        where = [f"{column} = {mark}" for column, _ in self.equal]
        params: list[Any] = [value for _, value in self.equal]
        if self.status is not None:
            where.append(dialect.statuses.get(self.status, f"status = {mark}"))
            params += [] if self.status in dialect.statuses else [self.status]
        for condition, value in ((dialect.tag, self.tag), (f"ts_us >= {mark}", self.since_us),
                                 (f"ts_us < {mark}", self.until_us)):
            if value is not None:
                where.append(condition)
                params.append(value)
        if self.cursor is not None:
            where.append(f"(ts_us, run_id) < ({mark}, {mark})")
            params.extend(self.cursor)
        return where, params


def check_listing(**filters: Unpack[ListingFilters]) -> CheckedListing:
    """The parameters of one listing page, checked; ValidationError for a bad filter, cursor, limit or ``q``."""
    unknown = sorted(set(filters) - set(ListingFilters.__annotations__))
    if unknown:
        raise TypeError(f"a run listing has no parameter {', '.join(unknown)}")
    equal = (("config_name", _text_filter("config_name", filters.get("config_name"))),
             ("user_id", _text_filter("user_id", filters.get("user_id"))))
    status = _status_filter(filters.get("status"))
    research = research_filters(kind=filters.get("kind"), session_id=filters.get("session_id"),
                                device_id=filters.get("device_id"))
    tag = runfields.tag_filter(filters.get("tag"))
    since_us, until_us = _time_bound("since", filters.get("since")), _time_bound("until", filters.get("until"))
    cursor = filters.get("cursor")
    position = decode_cursor(cursor) if cursor is not None else None
    page = _limit(filters.get("limit", DEFAULT_LIMIT))
    q = filters.get("q")
    if q is not None:
        search.query_words(q)  # checked here, for both stores
    return CheckedListing(tuple((column, value) for column, value in (*equal, *research) if value is not None),
                          status, tag, since_us, until_us, position, page, q)


def listing(**filters: Unpack[ListingFilters]) -> Listing:
    """The SQLite query of one listing page (the folder index; see ``RunIndex.query``); ValidationError for a bad
    filter, cursor, limit or ``q``."""
    checked = check_listing(**filters)
    where, params = checked.conditions(SQLITE)
    if checked.q is not None:  # full-text search: its own query shape (search.py)
        cursor_ts = checked.cursor[0] if checked.cursor is not None else None
        return Listing("", (), checked.page, search.sqlite_page("ts_us, run_id, status, summary", where, params,
                                                                checked.q, cursor_ts, checked.page))
    sql = "SELECT ts_us, run_id, status, summary FROM runs"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY ts_us DESC, run_id DESC LIMIT ?"
    params.append(checked.page + 1)
    return Listing(sql, tuple(params), checked.page)


def research_filters(*, kind: object, session_id: object, device_id: object) -> list[tuple[str, str | None]]:
    """The column and checked value of each research-field filter (value None: no filter); both stores' checks."""
    return [(name, runfields.group_filter(name, value))
            for name, value in (("kind", kind), ("session_id", session_id), ("device_id", device_id))]


def _time_bound(name: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value.isoformat()
    if isinstance(value, str) and value.strip():
        try:
            return timestamp_us(value.strip())
        except (ValueError, OverflowError):
            pass
    raise ValidationError(
        f"{name} {value!r:.60} is not an ISO 8601 datetime; use e.g. '2025-11-04T20:12:37+00:00' "
        "(a value without offset is taken as UTC)"
    )


def _text_filter(name: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > 200 or "\0" in value:
        raise ValidationError(f"{name} filter must be a non-empty string of at most 200 characters, got {value!r:.60}")
    return value


def _status_filter(value: object) -> str | None:
    if value is None:
        return None
    if value not in runformat.STATUSES:
        raise ValidationError(f"status filter {value!r:.60} is not one of {sorted(runformat.STATUSES)}")
    assert isinstance(value, str)
    return value


def _limit(value: object) -> int:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if number is None or not 1 <= number <= MAX_LIMIT:
        raise ValidationError(f"limit must be an integer from 1 to {MAX_LIMIT}, got {value!r:.40}")
    return number


def encode_cursor(ts_us: int, run_id: str) -> str:
    """The opaque cursor naming the position just after the run (ts_us, run_id) in newest-first order."""
    raw = json.dumps([_CURSOR_VERSION, ts_us, run_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: object) -> tuple[int, str]:
    """(ts_us, run_id) of a cursor from ``encode_cursor``; ValidationError for anything else."""
    problem = ValidationError(
        f"malformed cursor {cursor!r:.60}: pass the next_cursor of a previous listing unchanged, or none for the "
        "first page"
    )
    if not isinstance(cursor, str) or not cursor or len(cursor) > 400:
        raise problem
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = json.loads(raw)
    except (ValueError, binascii.Error):
        raise problem from None
    if not (isinstance(decoded, list) and len(decoded) == 3 and decoded[0] == _CURSOR_VERSION):
        raise problem
    _, ts_us, run_id = decoded
    if not isinstance(ts_us, int) or isinstance(ts_us, bool) or not isinstance(run_id, str):
        raise problem
    if RUN_ID_PATTERN.fullmatch(run_id) is None or abs(ts_us) >= 2**63:
        raise problem
    return ts_us, run_id
