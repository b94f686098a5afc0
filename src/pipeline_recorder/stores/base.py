"""The Store seam: everything that touches stored runs goes through this interface.

A store holds runs in the format of docs/LIBRARY.md (``metadata.json`` plus numbered entity files per run). The
recorder, the HTTP layer, the change feed, the run listing and the ops tools know only this interface; the folder
store (``stores.folder.FolderStore``) is its first implementation, and a store of objects coordinated by a database
can be a second one: nothing here speaks of file descriptors, locks on files, renames, inotify or paths.

What a store provides, and what each part relies on:

- ``create_run``: a new run appears whole (its document and all), or not at all; an existing run is attached to.
- ``writer(run_id)``: the per-run write handle. ``writer.transaction()`` is exclusive across threads, processes
  and machines, holds the run's document up to date, hands out the next sequence, places an entity whose bytes
  were staged before the transaction (``stage_entity``), and replaces the document -- the commit point.
- ``read_document(run_id, known)``: the document's bytes, or None when it is still the version ``known`` (the
  parse-since protocol: readers parse a new version from the one before, see ``document.parse_metadata_since``).
- ``open_entity``: an entity's bytes for reading, checked against its record (size, a regular object); ranges by
  seeking the file object it holds.
- ``run_ids``, ``run_exists``, ``delete_run``, ``stored_files``: listing and the ops tools.
- ``trash_run``, ``restore_run``, ``trashed_runs``, ``purge_trashed``: the trash (a deleted run can be restored
  until the trash is emptied; ``ops/trash.py``).
- ``subscribe``: the change feed's source of "something changed in this run".
- Liveness: ``renew_lease`` / ``release_lease`` / ``leases`` for writers that are not processes of this machine;
  ``apply_liveness`` judges a run: one with any lease by its leases (running with every lease expired reads
  ``interrupted``), one without by its writer processes (``liveness.py``).
- ``idempotency()``: the records of keyed writes, one call per key at a time (``idempotency.py``).

>>> store = open_store(".")                                   # doctest: +SKIP
>>> store.run_exists(run_id)                                  # doctest: +SKIP
True

The seam is split by what each part is; every name is importable from here as before:

- ``stores.values``: what crosses it (``StoredDocument``, ``StoredFile``, ``TrashedRun``, ``Content``, ``Wake``,
  ``DEFAULT_LEASE_SECONDS``);
- ``stores.handles``: what a store hands out (``StagedEntity``, ``EntityFile``, ``RunWriter``, ``RunTransaction``);
- ``stores.run_listing``: the listing's protocol (``RunListing``);
- ``stores.helper_names``: the names of helper files (``validate_helper_name``, ``MAX_HELPER_BYTES``);
- here: the ``Store`` class itself.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Hashable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from .. import runformat
from ..doccache import VersionCache
from ..document import MetadataDocument, ParsedRun, parse_metadata, parse_metadata_since
from ..idempotency import IdempotencyLedger
from ..liveness import run_is_alive
from ..naming import METADATA_FILENAME
from .handles import EntityFile, RunTransaction, RunWriter, StagedEntity
from .helper_names import HELPER_NAME_PATTERN, MAX_HELPER_BYTES, validate_helper_name
from .run_listing import RunListing
from .values import (
    DEFAULT_LEASE_SECONDS,
    Content,
    Judge,
    StoredDocument,
    StoredFile,
    TrashedRun,
    Wake,
    trashed_view,
)

# The seam's names, wherever they live (``from pipeline_recorder.stores.base import ...`` keeps working).
__all__ = ["DEFAULT_LEASE_SECONDS", "HELPER_NAME_PATTERN", "MAX_HELPER_BYTES", "Content", "EntityFile", "Judge",
           "RunListing", "RunTransaction", "RunWriter", "StagedEntity", "Store", "StoredDocument", "StoredFile",
           "TrashedRun", "Wake", "trashed_view", "validate_helper_name"]


class Store(abc.ABC):
    """Where runs live. Named by a URL (``open_store``); safe to share between threads."""

    url: str
    # Parsed documents shared by every follower of the store's runs: two hundred clients of one run parse each
    # new version once, not two hundred times (see ``parsed``).
    PARSED_CACHE_SIZE = 64
    _parsed_cache: VersionCache[ParsedRun] | None = None

    # -- runs ----------------------------------------------------------------------------------------------------

    @abc.abstractmethod
    def create_run(self, run_id: str, document: MetadataDocument) -> bool:
        """Make the run appear whole with ``document``; False when it existed already (then nothing is written)."""

    @abc.abstractmethod
    def run_exists(self, run_id: str) -> bool:
        """Whether the run is stored (has its document)."""

    @abc.abstractmethod
    def run_ids(self) -> Iterator[str]:
        """Ids of the stored runs (unordered)."""

    @abc.abstractmethod
    def delete_run(self, run_id: str, may_delete: Judge | None = None) -> bool:
        """Remove the run whole, under its transaction, when ``may_delete(document)`` says so (always when None;
        the document has liveness applied, None when it cannot be read); False when it kept it. RunNotFoundError."""

    @abc.abstractmethod
    def location(self, run_id: str | None = None) -> str:
        """Where the run (or the store) lives, for people: a folder path, an object URL."""

    def local_folder(self, run_id: str) -> Path | None:
        """The run's folder when the store keeps runs as local folders, else None."""
        return None

    # -- what writers killed mid-save left in a store without local folders (ops/leftovers.py) -----------------

    def abandoned_uploads(self, now: float | None = None) -> list[StoredFile]:
        """Hidden upload objects that writers killed mid-save left (names ``{run_id}/{object}``), only those old
        enough that no live writer can still be using them, judged at ``now`` (seconds since the epoch; default:
        the store's own clock). None in a store that keeps runs as local folders: its temp files are judged with
        each run folder (ops/leftovers.py)."""
        return []

    def remove_abandoned_uploads(self, now: float | None = None) -> list[StoredFile]:
        """Delete what ``abandoned_uploads`` finds; returns what was deleted."""
        return []

    # -- the trash (ops/trash.py decides what may go there; these move runs in and out) -------------------------

    @abc.abstractmethod
    def trash_run(self, run_id: str, may_trash: Judge | None = None) -> bool:
        """Move the run to the trash, whole and at once, under its transaction, when ``may_trash(document)`` says
        so (the document with liveness applied, None when unreadable); False when it kept it. From then on the run
        is in no listing and no read (RunNotFoundError), and its id stays taken (``create_run`` raises
        RunInTrashError) until it is restored or purged. RunNotFoundError; RunInTrashError when the trash already
        holds a run of that id."""

    @abc.abstractmethod
    def restore_run(self, run_id: str) -> None:
        """Move a trashed run back, whole and at once, as it was. RunNotFoundError (not in the trash);
        RunExistsError when a run of that id exists outside the trash."""

    @abc.abstractmethod
    def trashed_runs(self) -> Iterator[TrashedRun]:
        """The runs in the trash (unordered)."""

    @abc.abstractmethod
    def purge_trashed(self, run_id: str) -> bool:
        """Delete a trashed run for good: from the moment this starts it can no longer be restored, and a stop
        halfway leaves nothing a listing shows (the next purge or ``gc`` finishes it). False when the trash held
        no such run."""

    # -- erasure (ops/erase.py deletes the runs through the methods above; these keep no trace of them) -----------

    @abc.abstractmethod
    def compact(self) -> None:
        """Rewrite the store's own records of its runs (an index, caches) so that nothing of removed runs stays
        readable in them, e.g. in an index file's free pages."""

    @abc.abstractmethod
    def record_erasure(self, entry: dict[str, Any]) -> None:
        """Append one entry (JSON-able, no personal data: ops/erase.py builds it) to the store's erasure log,
        durably."""

    @abc.abstractmethod
    def erasures(self) -> list[dict[str, Any]]:
        """The erasure log's entries, oldest first."""

    # -- writing -------------------------------------------------------------------------------------------------

    @abc.abstractmethod
    def writer(self, run_id: str) -> RunWriter:
        """A write handle for the run (the run need not exist yet)."""

    @abc.abstractmethod
    def stage_entity(self, run_id: str, content: Content | BinaryIO, head: bytes = b"") -> StagedEntity:
        """Store entity bytes durably ahead of the run's transaction: ``content`` (bytes), or ``head`` followed
        by the rest of a binary file object, streamed. RunNotFoundError, StorageError."""

    # -- reading -------------------------------------------------------------------------------------------------

    @abc.abstractmethod
    def read_document(self, run_id: str, known: Hashable | None = None) -> StoredDocument | None:
        """The run's document, or None when it is still the version ``known``. RunNotFoundError,
        CorruptRunError (unreadable)."""

    def read_document_bytes(self, run_id: str) -> bytes:
        stored = self.read_document(run_id)
        assert stored is not None
        return stored.data

    def read_metadata(self, run_id: str) -> dict[str, Any]:
        """The run's metadata as stored, parsed and checked, with liveness applied. RunNotFoundError,
        CorruptRunError."""
        doc = parse_metadata(self.read_document_bytes(run_id), f"{self.location(run_id)}/{METADATA_FILENAME}")
        return self.apply_liveness(run_id, doc)

    def parsed(self, run_id: str) -> ParsedRun:
        """The run's current document, parsed and checked, shared by every reader of this store: read again only
        when it changed, and then parsed from the version before (``document.parse_metadata_since``). ``doc`` is
        read-only (readers copy what they change). RunNotFoundError, CorruptRunError."""
        cache = self._parsed_cache
        if cache is None:
            cache = self._parsed_cache = VersionCache(self.PARSED_CACHE_SIZE)
        where = f"{self.location(run_id)}/{METADATA_FILENAME}"
        return cache.load(run_id, lambda known: self.read_document(run_id, known),
                          lambda data, before: parse_metadata_since(data, where, before))

    @abc.abstractmethod
    def open_entity(self, run_id: str, record: dict[str, Any]) -> EntityFile:
        """The bytes of a listed entity, checked against ``record`` before anything is served: a regular file,
        never through a link, never a fifo, of the recorded size, not hard-linked elsewhere. EntityNotFoundError
        (absent, or refused, saying why)."""

    # -- helper files (thumbnails): made by the server, kept beside the run, never entities ---------------------

    @abc.abstractmethod
    def read_helper(self, run_id: str, name: str) -> bytes | None:
        """The bytes of the run's helper file ``name`` (``HELPER_NAME_PATTERN``), or None when it is absent (or
        not a regular file, or larger than ``MAX_HELPER_BYTES``). ValidationError for a bad name."""

    @abc.abstractmethod
    def write_helper(self, run_id: str, name: str, data: bytes) -> None:
        """Store the run's helper file ``name``, replacing it atomically (a reader sees the old bytes or the new).
        Removed with the run. RunNotFoundError, ValidationError for a bad name, StorageError."""

    @abc.abstractmethod
    def run_index(self) -> RunListing:
        """The store's run listing, made on first use and owned by the store (closed with it)."""

    @abc.abstractmethod
    def stored_files(self, run_id: str) -> Iterator[StoredFile]:
        """Every entity-named file stored in the run, listed in its document or not (for verify and repair)."""

    # -- following -----------------------------------------------------------------------------------------------

    @abc.abstractmethod
    def subscribe(self, run_id: str, wake: Wake) -> None:
        """Call ``wake`` (from any thread) whenever the run's document may have changed, until ``unsubscribe``.
        In place when this returns: a change after it is never missed."""

    @abc.abstractmethod
    def unsubscribe(self, run_id: str, wake: Wake) -> None: ...

    # -- liveness ------------------------------------------------------------------------------------------------

    @abc.abstractmethod
    def renew_lease(self, run_id: str, holder: str, ttl_seconds: float = DEFAULT_LEASE_SECONDS) -> None:
        """``holder`` (a remote writer) still writes the run: its lease now ends ``ttl_seconds`` from now."""

    @abc.abstractmethod
    def release_lease(self, run_id: str, holder: str) -> None:
        """``holder`` stopped writing the run: its lease ends now (it is kept, expired, so that a run left
        running reads ``interrupted``)."""

    @abc.abstractmethod
    def leases(self, run_id: str) -> dict[str, float]:
        """The run's leases: holder -> when the lease ends (seconds since the epoch). Empty when it has none."""

    def is_live(self, run_id: str, doc: dict[str, Any], now: float | None = None) -> bool:
        """False only when it is certain that nobody writes the run any more: a run with leases is live while
        one of them lasts; one without, while one of its recorded writer processes lives."""
        leases = self.leases(run_id)
        if leases:
            moment = time.time() if now is None else now
            return any(ends > moment for ends in leases.values())
        return run_is_alive(doc)

    def apply_liveness(self, run_id: str, doc: dict[str, Any]) -> dict[str, Any]:
        """Report a run as ``interrupted`` when it says ``running`` but nobody writes it any more."""
        if doc.get("status") == runformat.RUNNING and not self.is_live(run_id, doc):
            doc["status"] = runformat.INTERRUPTED
        return doc

    # -- idempotency (dist) ---------------------------------------------------------------------------------------

    @abc.abstractmethod
    def idempotency(self) -> IdempotencyLedger:
        """The store's records of keyed writes (``Idempotency-Key``): a retry through any process that opens the
        store gets the first call's answer, also while that call runs and after a restart."""

    def close(self) -> None:  # noqa: B027 -- a store without resources has nothing to close
        """Release what the store holds (watchers, connections)."""
