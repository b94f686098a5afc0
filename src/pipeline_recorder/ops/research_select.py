"""Which runs a research export holds: a session, a user, a device, a kind and a time span, combined.

The store's listing (``Store.run_index``, on both stores) narrows by every filter (its indexes hold user, time,
kind, session and device); each listed run's document is then read once and checked again (a run may change
between the listing and the read), with the defaults of runs recorded before the fields existed (``kind``
``pipeline``, no session, no device). The snapshot read here is the one exported, so the table and the
archive show each run as it was at one moment.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from ..document import parse_metadata
from ..errors import RunNotFoundError
from ..naming import METADATA_FILENAME
from ..runfields import DEFAULT_KIND
from ..stores.base import Store
from .timespec import parse_moment

_PAGE = 200  # the listing's largest page


@dataclass(frozen=True)
class Selection:
    """The runs to export: every given field must match (None matches anything); ``since <= start < until``."""

    session_id: str | None = None
    user_id: str | None = None
    device_id: str | None = None
    kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def parse(cls, *, session_id: str | None = None, user_id: str | None = None, device_id: str | None = None,
              kind: str | None = None, since: str | None = None, until: str | None = None) -> Selection:
        """From option or query texts: blank means no filter; times are ISO 8601 or a duration ago (``2d``)."""
        def text(value: str | None) -> str | None:
            return value.strip() or None if value is not None else None

        start, end = text(since), text(until)
        return cls(session_id=text(session_id), user_id=text(user_id), device_id=text(device_id), kind=text(kind),
                   since=parse_moment(start) if start else None, until=parse_moment(end) if end else None)

    def is_empty(self) -> bool:
        """True when nothing narrows the selection (an export of the whole store)."""
        return all(getattr(self, field.name) is None for field in fields(self))

    def to_dict(self) -> dict[str, str]:
        """The given filters, for the manifest and for messages."""
        out: dict[str, str] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if value is not None:
                out[field.name] = value.isoformat() if isinstance(value, datetime) else str(value)
        return out

    def describe(self) -> str:
        given = self.to_dict()
        return ", ".join(f"{key} {value}" for key, value in given.items()) if given else "the whole store"

    def matches(self, doc: dict[str, Any]) -> bool:
        """Whether a run's document (as read, after the listing) still fits the selection."""
        return (self.user_id in (None, doc.get("user_id"))
                and self.session_id in (None, doc.get("session_id"))
                and self.device_id in (None, doc.get("device_id"))
                and self.kind in (None, doc.get("kind", DEFAULT_KIND)))


@dataclass(frozen=True)
class SelectedRun:
    """A run of the export: its id, the bytes of its document as read once, and that document parsed."""

    run_id: str
    data: bytes
    doc: dict[str, Any]


def _listed(store: Store, selection: Selection) -> Iterator[str]:
    listing = store.run_index()
    cursor: str | None = None
    while True:
        page, cursor = listing.query(user_id=selection.user_id, since=selection.since, until=selection.until,
                                     kind=selection.kind, session_id=selection.session_id,
                                     device_id=selection.device_id, cursor=cursor, limit=_PAGE)
        for summary in page:
            yield str(summary["run_id"])
        if cursor is None:
            return


def select_runs(store: Store, selection: Selection) -> list[SelectedRun]:
    """The runs of the selection, oldest first (the order a session happened in).

    RunNotFoundError when no run matches, saying which filters were given. A run removed between the listing and
    the read is left out; a run whose document cannot be read raises (CorruptRunError): an export never silently
    leaves out a run it should hold.
    """
    chosen: list[SelectedRun] = []
    for run_id in _listed(store, selection):
        try:
            data = store.read_document_bytes(run_id)
        except RunNotFoundError:
            continue  # removed since it was listed
        doc = parse_metadata(data, f"{store.location(run_id)}/{METADATA_FILENAME}")
        if selection.matches(doc):
            chosen.append(SelectedRun(run_id, data, doc))
    if not chosen:
        raise RunNotFoundError(f"no run matches {selection.describe()}")
    chosen.reverse()  # the listing is newest first
    return chosen


def runs_by_id(store: Store, run_ids: list[str]) -> list[SelectedRun]:
    """Named runs, in the order given (each once), as a selection holds them. RunNotFoundError, CorruptRunError."""
    chosen = []
    for run_id in dict.fromkeys(run_ids):
        data = store.read_document_bytes(run_id)
        chosen.append(SelectedRun(run_id, data, parse_metadata(data, f"{store.location(run_id)}/{METADATA_FILENAME}")))
    return chosen
