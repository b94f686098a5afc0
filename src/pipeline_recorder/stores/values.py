"""The values that cross the Store seam (``stores.base.Store``): what a store hands back from a read or a listing,
and the small types its methods take. Plain data, the same for every store.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from .. import runformat

# How long a lease lasts when its holder names no time (seconds).
DEFAULT_LEASE_SECONDS = 30.0

# ``subscribe``'s callback: "something changed in this run" (called from any thread).
Wake = Callable[[], None]
# A caller's verdict on a run before ``delete_run`` or ``trash_run`` removes it: the run's document with liveness
# applied (None when it cannot be read) -> whether it may go.
Judge = Callable[[dict[str, Any] | None], bool]
# Entity bytes as ``stage_entity`` takes them when they are not a file object.
Content = bytes | bytearray | memoryview


@dataclass(frozen=True)
class StoredDocument:
    """One version of a run's document: its bytes and an opaque version (equal versions: the same bytes)."""

    version: Hashable
    data: bytes


@dataclass(frozen=True)
class StoredFile:
    """A file (object) stored in a run, listed or not: its name and size."""

    name: str
    size: int


@dataclass(frozen=True)
class TrashedRun:
    """A run in the trash: its id, when it was moved there (seconds since the epoch) and its metadata as stored
    (None when its document cannot be read)."""

    run_id: str
    trashed_at: float
    doc: dict[str, Any] | None
    purging: bool = False  # a purge began and was stopped: only ``purge_trashed`` may finish it, never a restore


def trashed_view(doc: dict[str, Any]) -> dict[str, Any]:
    """A trashed run's document as listed: only a run nobody wrote any more went to the trash, so one that says
    ``running`` was interrupted."""
    if doc.get("status") == runformat.RUNNING:
        doc["status"] = runformat.INTERRUPTED
    return doc
