"""The shared store's run transactions: one PostgreSQL transaction per change, on the run's row locked
``FOR UPDATE``, so no two writers on any machines interleave.

Inside it: the document is read (only the records this process has not seen), the caller takes the next sequence
(the entities' primary key makes a second claim of one sequence impossible), entity objects are put under their
numbered names, then ``replace_document`` puts the new metadata.json -- conditional on the ETag of the one the
database recorded last -- and records the row, the new entity records, the writer's lease and a NOTIFY; the
transaction commits when the block ends. An acknowledged entity is therefore in the bucket, listed by the
bucket's metadata.json and committed in the database.

A writer killed before its commit leaves nothing acknowledged: its transaction rolls back and frees the row. If it
had already put its metadata.json, that object's ETag is not the one the database recorded, so the next writer's
conditional put fails; that writer reads the bucket's revision and writes a higher one. metadata.json in the
bucket only ever moves forward.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import psycopg

from ... import runformat
from ...document import MetadataDocument
from ...errors import CorruptRunError, RecorderError
from ...index import search
from ...naming import parse_stored_filename
from ..handles import RunTransaction, RunWriter, StagedEntity
from .leases import LeaseKeeper
from .objects import PreconditionFailed
from .runs import Entry, SharedRuns
from .staging import SharedStaged

T = TypeVar("T")
# A commit whose conditional put keeps failing (writers killed one after another) is given up after this many.
_PUT_ATTEMPTS = 4


class SharedTransaction(RunTransaction):
    def __init__(self, runs: SharedRuns, conn: psycopg.Connection[Any], run_id: str, writer_id: str,
                 document: MetadataDocument, etag: str | None, lease_seconds: float) -> None:
        self._runs, self._conn, self._run_id, self._writer_id = runs, conn, run_id, writer_id
        self._lease_seconds = lease_seconds
        self.document = document
        self._etag = etag
        self._known = len(document.entities)
        self.placed: list[str] = []
        self.heads: dict[str, bytes] = {}  # the first bytes of entities placed, for full-text search
        self.put_done = False  # the bucket's metadata.json lists what was placed: never remove it again

    def place_entity(self, staged: StagedEntity, filename: str) -> None:
        assert isinstance(staged, SharedStaged)
        if parse_stored_filename(filename) is None:
            raise ValueError(f"{filename!r} is not an entity file name")
        key = self._runs.key(self._run_id, filename)
        # Over any object a writer killed before its commit left at this name (no metadata.json lists it).
        if staged.data is not None:
            self._runs.bucket.put(key, staged.data)
            self.heads[filename] = staged.data[:search.TEXT_BYTES]
        else:
            assert staged.key is not None
            self._runs.bucket.copy(staged.key, key)
        self.placed.append(key)

    def replace_document(self) -> None:
        assert self.document is not None
        doc = self.document
        for _ in range(_PUT_ATTEMPTS):
            try:
                etag = self._runs.bucket.put(self._runs.key(self._run_id), doc.chunks(), if_match=self._etag)
            except PreconditionFailed:
                # A writer put a metadata.json and died before committing it: go past its revision.
                self._etag, bucket_revision = self._runs.bucket_version(self._run_id)
                if bucket_revision >= int(doc.header["revision"]):
                    doc = self.document = _renumbered(doc, bucket_revision + 1)
                continue
            self.put_done = True
            self._etag = etag
            running = doc.header.get("status") == runformat.RUNNING
            self._runs.record(self._conn, self._run_id, doc, etag, doc.entities[self._known:],
                              (self._writer_id, self._lease_seconds) if running else None, self.heads)
            return
        raise CorruptRunError(f"run {self._run_id!r}: metadata.json in the bucket keeps changing behind the "
                              "database")


def _renumbered(doc: MetadataDocument, revision: int) -> MetadataDocument:
    """``doc`` at ``revision``: the header and the records of this change (those of its old revision) renumbered."""
    old = doc.header["revision"]
    entities = [{**e, "revision": revision} if e.get("revision") == old else e for e in doc.entities]
    return MetadataDocument({**doc.header, "revision": revision}, entities)


class SharedRunWriter(RunWriter):
    """The write handle of one run: its transactions, its cached document, and this writer's lease (taken by
    every commit while the run is running, renewed in the background until ``close``)."""

    def __init__(self, runs: SharedRuns, leases: LeaseKeeper, run_id: str, writer_id: str,
                 lease_seconds: float) -> None:
        self.run_id = run_id
        self._runs, self._leases, self._writer_id, self._lease_seconds = runs, leases, writer_id, lease_seconds
        self._entry: Entry = runs.entry(run_id)

    @contextlib.contextmanager
    def transaction(self, *, allow_missing: bool = False) -> Iterator[RunTransaction]:
        entry = self._entry = self._runs.entry(self.run_id)
        with entry.lock, self._runs.db.connection(f"change run {self.run_id!r}") as conn:
            try:
                with conn.transaction():
                    row = self._runs.query(conn, self.run_id, entry, lock=True)
                    txn = SharedTransaction(self._runs, conn, self.run_id, self._writer_id, row.doc, row.etag,
                                            self._lease_seconds)
                    try:
                        yield txn
                    finally:
                        self._drop_unlisted(txn)  # still under the row lock, before commit or rollback
            except BaseException:
                entry.doc = None  # memory may hold what was not committed: read the database next time
                raise
            document = txn.document
            assert document is not None
            entry.doc = document if txn.put_done else None
            if txn.put_done:
                if document.header.get("status") == runformat.RUNNING:
                    self._leases.hold(self.run_id, self._writer_id, self._lease_seconds)
                else:
                    self._leases.release(self.run_id, self._writer_id)

    def _drop_unlisted(self, txn: SharedTransaction) -> None:
        """Remove objects placed by a transaction whose metadata.json was never put (still under the row lock,
        so no other writer can have claimed those names meanwhile)."""
        if txn.put_done:
            return
        for key in txn.placed:
            with contextlib.suppress(RecorderError):
                self._runs.bucket.delete(key)
        txn.placed.clear()

    def read(self, look: Callable[[MetadataDocument], T]) -> T:
        entry = self._entry = self._runs.entry(self.run_id)
        with entry.lock, self._runs.db.connection(f"read run {self.run_id!r}") as conn:
            return look(self._runs.query(conn, self.run_id, entry, lock=False).doc)

    def cached_entity_count(self) -> int:
        doc = self._entry.doc
        return len(doc.entities) if doc is not None else 0

    def close(self) -> None:
        """Stop holding the run's lease (a running run reads interrupted once no writer holds a live one)."""
        if self._leases.release(self.run_id, self._writer_id):
            with contextlib.suppress(RecorderError), \
                    self._runs.db.connection(f"release the lease of run {self.run_id!r}") as conn:
                self._runs.release_lease(conn, self.run_id, self._writer_id)
