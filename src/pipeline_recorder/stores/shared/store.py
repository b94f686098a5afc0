"""SharedStore: runs as objects under ``s3://bucket/prefix/pipeline_runs/{run_id}/``, coordinated by PostgreSQL --
the second implementation of the Store seam (``stores.base.Store``).

>>> store = open_store("s3://recordings/lab")     # the database from $PIPELINE_RECORDER_DATABASE_URL  # doctest: +SKIP
>>> rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=store)          # doctest: +SKIP

The objects are the folder store's files, name for name and byte for byte (``aws s3 ls`` shows what ``ls`` shows);
the database holds the same documents plus what coordinates many machines: run transactions and sequence claims
(transaction.py), writers' leases, the run index (listing.py) and change notifications (changes.py). Any number of
processes on any machines may open one store; nothing of it lives in one process's memory but caches.
"""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Callable, Hashable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from ...document import MetadataDocument
from ...errors import EntityNotFoundError, RecorderError, RunNotFoundError, ValidationError
from ...liveness import current_owner, run_is_alive
from ...naming import parse_stored_filename, validate_run_id
from ..base import Store
from ..handles import EntityFile, RunWriter, StagedEntity, check_recorded_size
from ..helper_names import MAX_HELPER_BYTES, validate_helper_name
from ..run_listing import RunListing
from ..trash_errors import id_in_trash
from ..values import DEFAULT_LEASE_SECONDS, Content, Judge, StoredDocument, StoredFile, TrashedRun, Wake
from . import trash
from .changes import ChangeHub
from .config import SharedStoreConfig, parse_store_url
from .database import Database
from .idempotency import SharedIdempotency
from .leases import LeaseKeeper
from .listing import SharedListing
from .objects import Bucket
from .runs import Row, SharedRuns
from .staging import abandoned_staging, stage
from .transaction import SharedRunWriter

if TYPE_CHECKING:
    import psycopg

# How old the leases' verdict of a run's last read may be to judge the run by it (a lease lasts 30 s by default).
LEASE_VERDICT_SECONDS = 1.0


class SharedEntityFile(EntityFile):
    def __init__(self, file: BinaryIO, size: int, modified: float, version: str) -> None:
        self.file, self.size, self.modified, self.version = file, size, modified, version


class SharedStore(Store):
    """One shared store, opened by this process. Thread-safe; ``close()`` ends its connections and threads."""

    def __init__(self, config: SharedStoreConfig, *, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> None:
        if not 0 < lease_seconds <= 3600:
            raise ValidationError(f"lease_seconds must be between 0 and 3600, got {lease_seconds!r}")
        self.config = config
        self.url = config.url
        self.lease_seconds = lease_seconds
        self.closed = False
        self.bucket = Bucket(config.bucket, "")
        self.db = Database(config.database_url)
        try:
            self._check_identity()
        except BaseException:
            self.db.close()  # a refused store leaves no pool (and no pool threads) behind
            raise
        self.runs = SharedRuns(self.db, self.bucket, config.runs_prefix)
        self._leases = LeaseKeeper(self.runs)
        self._listing = SharedListing(self.db)
        self._idempotency = SharedIdempotency(self.db)
        self._hub: ChangeHub | None = None
        self._hub_lock = threading.Lock()
        # Who writes through this store object: one lease holder per process and store (see transaction.py).
        owner = current_owner()
        self._writer_id = f"{owner['host']}:{owner['pid']}:{uuid.uuid4().hex[:8]}"

    @classmethod
    def open(cls, url: str, database_url: str | None = None, **options: Any) -> SharedStore:
        """The store of an ``s3://bucket/prefix`` URL; the database from ``database_url`` or
        ``$PIPELINE_RECORDER_DATABASE_URL``. ValidationError for a bad URL, StorageError when a server fails."""
        return cls(parse_store_url(url, database_url), **options)

    def _check_identity(self) -> None:
        """One database coordinates one store: refuse a database that already coordinates another bucket/prefix."""
        with self.db.connection("check which store the database coordinates") as conn:
            conn.execute("INSERT INTO store_identity (bucket, prefix) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                         (self.config.bucket, self.config.prefix))
            row = conn.execute("SELECT bucket, prefix FROM store_identity").fetchone()
        assert row is not None
        if (row[0], row[1]) != (self.config.bucket, self.config.prefix):
            other = f"s3://{row[0]}/{row[1]}".rstrip("/")
            raise ValidationError(f"the database coordinates the store {other}, not {self.url}: use one database "
                                  "per shared store")

    def _not_found(self, run_id: str) -> RunNotFoundError:
        return RunNotFoundError(f"run {run_id!r} not found in the shared store {self.url}")

    # -- runs ----------------------------------------------------------------------------------------------------

    def create_run(self, run_id: str, document: MetadataDocument) -> bool:
        if trash.in_trash(self, validate_run_id(run_id)):
            raise id_in_trash(run_id)
        return self.runs.create(run_id, document)

    def run_exists(self, run_id: str) -> bool:
        with self.db.connection(f"look for run {run_id!r}") as conn:
            return conn.execute("SELECT 1 FROM runs WHERE run_id = %s", (validate_run_id(run_id),)).fetchone() \
                is not None

    def run_ids(self) -> Iterator[str]:
        with self.db.connection("list the runs") as conn:
            rows = conn.execute("SELECT run_id FROM runs").fetchall()
        for (run_id,) in rows:
            yield str(run_id)

    def delete_run(self, run_id: str, may_delete: Judge | None = None) -> bool:
        """Remove the run, under its transaction: its rows first (it stops being listed at once), then its
        objects (if that is interrupted, the objects left are listed by nothing and a second delete removes them)."""
        validate_run_id(run_id)

        def remove(conn: psycopg.Connection[Any], row: Row) -> None:
            conn.execute("DELETE FROM runs WHERE run_id = %s", (run_id,))

        if not self.remove_judged(run_id, f"delete run {run_id!r}", may_delete, remove):
            return False
        self.runs.delete_objects(run_id)
        return True

    def remove_judged(self, run_id: str, doing: str, judge: Judge | None,
                      remove: Callable[[psycopg.Connection[Any], Row], None]) -> bool:
        """``remove(conn, row)`` in one database transaction, with the run's row read again and locked, when
        ``judge(document)`` says so (always when None; the document with liveness applied); False when it kept the
        run. ``doing`` says what for in errors. RunNotFoundError. (Deleting and trashing a run both take it out.)"""
        entry = self.runs.entry(run_id)
        with entry.lock, self.db.connection(doing) as conn:
            with conn.transaction():
                row = self.runs.query(conn, run_id, entry, lock=True)
                if judge is not None and not judge(self.apply_liveness(run_id, row.doc.to_dict())):
                    return False
                remove(conn, row)
            self.runs.forget(run_id)
        return True

    def location(self, run_id: str | None = None) -> str:
        return self.url if run_id is None else f"s3://{self.config.bucket}/{self.config.runs_prefix}/{run_id}"

    # -- the trash: the trashed_runs table (trash.py) -----------------------------------------------------------

    def trash_run(self, run_id: str, may_trash: Judge | None = None) -> bool:
        return trash.trash_run(self, validate_run_id(run_id), may_trash)

    def restore_run(self, run_id: str) -> None:
        trash.restore_run(self, validate_run_id(run_id))

    def trashed_runs(self) -> Iterator[TrashedRun]:
        return trash.trashed_runs(self)

    def purge_trashed(self, run_id: str) -> bool:
        return trash.purge_trashed(self, validate_run_id(run_id))

    # -- erasure: the erasures table ---------------------------------------------------------------------------

    def compact(self) -> None:
        """Nothing to rewrite here: a removed run's rows are deleted with it (PostgreSQL keeps their bytes in its
        files until VACUUM FULL; docs/RESEARCH.md, Privacy)."""

    def record_erasure(self, entry: dict[str, Any]) -> None:
        with self.db.connection("record an erasure") as conn, conn.transaction():
            conn.execute("INSERT INTO erasures (entry) VALUES (%s)", (json.dumps(entry, sort_keys=True),))

    def erasures(self) -> list[dict[str, Any]]:
        with self.db.connection("read the erasure log") as conn:
            rows = conn.execute("SELECT entry FROM erasures ORDER BY id").fetchall()
        return [json.loads(entry) for (entry,) in rows]

    # -- writing -------------------------------------------------------------------------------------------------

    def writer(self, run_id: str) -> RunWriter:
        return SharedRunWriter(self.runs, self._leases, validate_run_id(run_id), self._writer_id,
                               self.lease_seconds)

    def stage_entity(self, run_id: str, content: Content | BinaryIO, head: bytes = b"") -> StagedEntity:
        validate_run_id(run_id)
        if not self.runs.known(run_id) and not self.run_exists(run_id):
            raise self._not_found(run_id)
        return stage(self.bucket, f"{self.config.runs_prefix}/{run_id}", content, head)

    # -- reading -------------------------------------------------------------------------------------------------

    def read_document(self, run_id: str, known: Hashable | None = None) -> StoredDocument | None:
        found = self.runs.read(validate_run_id(run_id), known)
        return None if found is None else StoredDocument(found[0], found[1])

    def open_entity(self, run_id: str, record: dict[str, Any]) -> EntityFile:
        filename = str(record.get("filename", ""))
        if parse_stored_filename(filename) is None:
            raise EntityNotFoundError(f"run {run_id!r} has no file {filename!r}")
        key = self.runs.key(validate_run_id(run_id), filename)
        try:
            info = self.bucket.head(key)
        except FileNotFoundError:
            raise EntityNotFoundError(f"run {run_id!r}: {filename!r} is listed but missing from the bucket; run "
                                      "`pipeline-recorder verify` on it") from None
        check_recorded_size(run_id, filename, record, info.size)
        # The record's hash names the bytes on every replica alike; the ETag when a record has none.
        version = str(record.get("sha256") or info.etag.strip('"'))
        return SharedEntityFile(self.bucket.open(key, info.size), info.size, info.modified, version)

    def read_helper(self, run_id: str, name: str) -> bytes | None:
        folder, filename = validate_helper_name(name)
        key = self.runs.key(validate_run_id(run_id), f"{folder}/{filename}")
        try:
            info = self.bucket.head(key)
            if info.size > MAX_HELPER_BYTES:
                return None
            return self.bucket.get(key)
        except FileNotFoundError:
            return None

    def write_helper(self, run_id: str, name: str, data: bytes) -> None:
        """An object beside the run's entities (``{run}/.thumbnails/...``), so it is deleted with the run."""
        folder, filename = validate_helper_name(name)
        if not self.run_exists(run_id):
            raise self._not_found(run_id)
        self.bucket.put(self.runs.key(run_id, f"{folder}/{filename}"), data)

    def abandoned_uploads(self, now: float | None = None) -> list[StoredFile]:
        if now is None:  # the database's clock, as for leases: the machines' clocks do not matter
            with self.db.connection("read the database's clock") as conn:
                row = conn.execute("SELECT extract(epoch FROM now())").fetchone()
            assert row is not None  # SELECT without FROM returns one row
            now = float(row[0])
        prefix = self.config.runs_prefix
        return [StoredFile(info.key[len(prefix) + 1:], info.size)
                for info in abandoned_staging(self.bucket, prefix, now)]

    def remove_abandoned_uploads(self, now: float | None = None) -> list[StoredFile]:
        found = self.abandoned_uploads(now)
        for upload in found:
            self.bucket.delete(f"{self.config.runs_prefix}/{upload.name}")
        return found

    def run_index(self) -> RunListing:
        return self._listing

    def stored_files(self, run_id: str) -> Iterator[StoredFile]:
        prefix = f"{self.config.runs_prefix}/{validate_run_id(run_id)}/"
        if not self.run_exists(run_id):
            raise self._not_found(run_id)
        for info in self.bucket.objects(prefix):
            name = info.key[len(prefix):]
            if parse_stored_filename(name) is not None:
                yield StoredFile(name, info.size)

    # -- following -----------------------------------------------------------------------------------------------

    @property
    def changes(self) -> ChangeHub:
        """This store's change notifications (one LISTEN connection, opened on first use)."""
        with self._hub_lock:
            if self._hub is None:
                self._hub = ChangeHub(self.config.database_url)
            return self._hub

    def subscribe(self, run_id: str, wake: Wake) -> None:
        self.changes.subscribe(validate_run_id(run_id), wake)

    def unsubscribe(self, run_id: str, wake: Wake) -> None:
        self.changes.unsubscribe(run_id, wake)

    # -- liveness ------------------------------------------------------------------------------------------------

    def renew_lease(self, run_id: str, holder: str, ttl_seconds: float = DEFAULT_LEASE_SECONDS) -> None:
        with self.db.connection(f"renew a lease of run {run_id!r}") as conn, conn.transaction():
            self.runs.renew_lease(conn, validate_run_id(run_id), holder, ttl_seconds)

    def release_lease(self, run_id: str, holder: str) -> None:
        with self.db.connection(f"release a lease of run {run_id!r}") as conn, conn.transaction():
            self.runs.release_lease(conn, validate_run_id(run_id), holder)

    def leases(self, run_id: str) -> dict[str, float]:
        return self.runs.leases(validate_run_id(run_id))

    def is_live(self, run_id: str, doc: dict[str, Any], now: float | None = None) -> bool:
        """As every store judges it, but from the verdict the read of the run's row just brought (the database's
        clock, no second round trip) when that read is recent: a follower or status read costs one query."""
        if now is None:
            known, leased = self.runs.lease_verdict(run_id, LEASE_VERDICT_SECONDS)
            if known:
                return run_is_alive(doc) if leased is None else leased
        return super().is_live(run_id, doc, now)

    def idempotency(self) -> SharedIdempotency:
        return self._idempotency

    def close(self) -> None:
        self.closed = True
        self._leases.close()
        self._idempotency.close()
        if self._hub is not None:
            self._hub.close()
        with contextlib.suppress(RecorderError):
            self.db.close()

    def __enter__(self) -> SharedStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_opened: dict[tuple[str, str], SharedStore] = {}
_opened_lock = threading.Lock()


def open_shared_store(url: str, database_url: str | None = None) -> SharedStore:
    """``open_store``'s factory for ``s3://`` URLs (the database from $PIPELINE_RECORDER_DATABASE_URL): one store
    object per URL and database in a process, shared by every recorder and request that names it (each holds a
    connection pool and a LISTEN connection; opening one per recorder would cost a connection each)."""
    config = parse_store_url(url, database_url)
    with _opened_lock:
        store = _opened.get((config.url, config.database_url))
        if store is None or store.closed:
            store = _opened[(config.url, config.database_url)] = SharedStore(config)
        return store
