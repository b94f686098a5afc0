"""SharedStore: runs as objects under ``s3://bucket/prefix/pipeline_runs/{run_id}/``, coordinated by PostgreSQL.

>>> store = SharedStore.open("s3://recordings/lab", "postgresql://recorder@db/recorder")  # doctest: +SKIP
>>> store.read("528e5af9-...")["status"]                                                  # doctest: +SKIP
'running'

The objects are the folder store's files, name for name and byte for byte (``aws s3 ls`` shows what ``ls`` shows);
the database holds the same documents plus what coordinates many machines: the run transactions and sequence
claims, writers' leases, the run index and change notifications. Any number of processes on any machines may open
one store; nothing of it lives in one process's memory but caches.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from ...errors import EntityNotFoundError, RunNotFoundError, ValidationError
from ...naming import METADATA_FILENAME, parse_entity_filename, validate_run_id
from ...runformat import INTERRUPTED
from .changes import ChangeHub
from .config import SharedStoreConfig, parse_store_url
from .database import Database
from .leases import LeaseKeeper
from .listing import count_runs, list_runs
from .objects import Bucket
from .runs import SharedRuns

DEFAULT_LEASE_SECONDS = 30.0


class SharedStore:
    """One shared store, opened by this process. Thread-safe; ``close()`` ends its connections and threads."""

    def __init__(self, config: SharedStoreConfig, *, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> None:
        if not 0 < lease_seconds <= 3600:
            raise ValidationError(f"lease_seconds must be between 0 and 3600, got {lease_seconds!r}")
        self.config = config
        self.bucket = Bucket(config.bucket, "")
        self.db = Database(config.database_url)
        self._check_identity()
        self.runs = SharedRuns(self.db, self.bucket, config.runs_prefix, lease_seconds=lease_seconds)
        self.leases = LeaseKeeper(self.runs)
        self._hub: ChangeHub | None = None
        self._hub_lock = threading.Lock()

    @classmethod
    def open(cls, url: str, database_url: str | None = None, **options: Any) -> SharedStore:
        """The store of an ``s3://bucket/prefix`` URL; the database from ``database_url`` or
        ``$PIPELINE_RECORDER_DATABASE_URL``. ValidationError for a bad URL, StorageError when a server fails."""
        return cls(parse_store_url(url, database_url), **options)

    @property
    def url(self) -> str:
        return self.config.url

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

    # -- reading ------------------------------------------------------------------------------------------------

    def read(self, run_id: str) -> dict[str, Any]:
        """The run's metadata as committed, with liveness applied (``interrupted`` once every lease lapsed)."""
        snapshot = self.runs.read(validate_run_id(run_id))
        doc = snapshot.doc
        if snapshot.lapsed:
            doc["status"] = INTERRUPTED
        return doc

    def exists(self, run_id: str) -> bool:
        try:
            self.runs.read(validate_run_id(run_id))
        except RunNotFoundError:
            return False
        return True

    def document_bytes(self, run_id: str) -> bytes:
        """metadata.json exactly as the bucket holds it (without liveness: the stored bytes)."""
        return self.runs.document_bytes(validate_run_id(run_id))

    def entity_record(self, run_id: str, filename: str) -> dict[str, Any]:
        """The record of a listed entity file (size, sha256, mime_type...). EntityNotFoundError otherwise."""
        if parse_entity_filename(filename) is None:
            raise EntityNotFoundError(f"run {run_id!r} has no file {filename!r}")
        records: list[dict[str, Any]] = self.read(run_id)["entities"]
        for record in reversed(records):
            if record.get("filename") == filename:
                return dict(record)
        raise EntityNotFoundError(f"run {run_id!r} has no file {filename!r}")

    def read_entity(self, run_id: str, filename: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Bytes ``start`` to ``end`` (exclusive; None: to the end) of a listed entity, streamed from the bucket
        with one Range request. EntityNotFoundError for a file the run does not list (or the bucket lost)."""
        record = self.entity_record(run_id, filename)
        size = int(record["size"])
        stop = size if end is None else min(end, size)
        if not 0 <= start <= stop:
            raise ValidationError(f"byte range {start}-{end} is outside the entity's {size} bytes")
        try:
            yield from self.bucket.read_range(self.runs.key(run_id, filename), start, stop)
        except FileNotFoundError:
            raise EntityNotFoundError(f"run {run_id!r}: {filename} is listed but missing from the bucket") from None

    def list_runs(self, **filters: Any) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first, filtered and paged exactly like the folder store's index (see ``index.RunIndex.query``)."""
        return list_runs(self.db, **filters)

    def count(self) -> int:
        return count_runs(self.db)

    def run_ids(self) -> Iterator[str]:
        """Every run id, newest first (from the database, page by page)."""
        cursor: str | None = None
        while True:
            page, cursor = self.list_runs(cursor=cursor, limit=200)
            for summary in page:
                yield str(summary["run_id"])
            if cursor is None:
                return

    def object_keys(self, run_id: str) -> list[str]:
        """The names of the objects under the run's prefix, as ``ls`` would show its folder."""
        prefix = f"{self.config.runs_prefix}/{validate_run_id(run_id)}/"
        return sorted(info.key[len(prefix):] for info in self.bucket.objects(prefix))

    @property
    def changes(self) -> ChangeHub:
        """The change notifications of this store (one LISTEN connection, opened on first use)."""
        with self._hub_lock:
            if self._hub is None:
                self._hub = ChangeHub(self.config.database_url)
            return self._hub

    # -- ops ----------------------------------------------------------------------------------------------------

    def delete_run(self, run_id: str) -> bool:
        """Remove a run from the index and the bucket. Whether it existed."""
        return self.runs.delete(validate_run_id(run_id))

    def metadata_key(self, run_id: str) -> str:
        return self.runs.key(validate_run_id(run_id), METADATA_FILENAME)

    def close(self) -> None:
        self.leases.close()
        if self._hub is not None:
            self._hub.close()
        self.db.close()

    def __enter__(self) -> SharedStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
