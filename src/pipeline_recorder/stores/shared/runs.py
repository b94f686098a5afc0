"""Runs of the shared store: created, changed in one transaction each, and read, with the document kept in PostgreSQL
and written to the bucket as ``metadata.json`` in exactly the folder store's bytes (the one codec,
``runformat.MetadataDocument``).

A change (an entity, a state, the end) is one PostgreSQL transaction on the run's row, held ``FOR UPDATE`` so no two
writers on any machines interleave: it reads the document (only records this process has not seen yet), claims the
next sequence (the entities' primary key makes a second claim of one sequence impossible), puts the entity object
under its numbered name, puts the new ``metadata.json`` -- conditional on the ETag of the one this database last
recorded -- and only then commits. So when a save returns, the entity, the metadata.json listing it and the
database all hold it; a writer killed before its commit leaves nothing acknowledged behind. If such a writer had
already put its metadata.json, the conditional put of the next writer fails, and that writer reads the bucket's
revision and writes a higher one: metadata.json in the bucket only ever moves forward.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import psycopg

from ... import runformat
from ...errors import CorruptRunError, RunNotFoundError
from ...index import timestamp_us
from ...naming import METADATA_FILENAME
from ...runformat import MetadataDocument
from .database import CHANNEL, Database
from .objects import Bucket, PreconditionFailed

T = TypeVar("T")
MAX_CACHED_RUNS = 512
# A change whose conditional put keeps failing (writers killed one after another) is given up after this many.
_PUT_ATTEMPTS = 4

_LIVE = "(r.lease_expires_at IS NOT NULL AND r.lease_expires_at > now())"
_LAPSED = f"(r.status = 'running' AND NOT {_LIVE})"


@dataclass
class _Entry:
    """What this process knows of one run's document; ``lock`` orders its threads' use of it."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    doc: MetadataDocument | None = None


@dataclass(frozen=True)
class Snapshot:
    """One consistent reading of a run: its document (a copy) and whether its writers' leases have all lapsed."""

    doc: dict[str, Any]
    lapsed: bool


class SharedRuns:
    """The runs of one shared store (its database and bucket), for every thread of this process."""

    def __init__(self, db: Database, bucket: Bucket, runs_prefix: str, *, lease_seconds: float) -> None:
        self.db = db
        self.bucket = bucket
        self.runs_prefix = runs_prefix
        self.lease_seconds = lease_seconds
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._entries_lock = threading.Lock()

    def key(self, run_id: str, filename: str = METADATA_FILENAME) -> str:
        return f"{self.runs_prefix}/{run_id}/{filename}"

    def _entry(self, run_id: str) -> _Entry:
        with self._entries_lock:
            entry = self._entries.get(run_id)
            if entry is None:
                entry = self._entries[run_id] = _Entry()
                while len(self._entries) > MAX_CACHED_RUNS:
                    self._entries.popitem(last=False)
            self._entries.move_to_end(run_id)
            return entry

    def forget(self, run_id: str) -> None:
        with self._entries_lock:
            self._entries.pop(run_id, None)

    # -- reading ------------------------------------------------------------------------------------------------

    def _catch_up(self, entry: _Entry, header_text: str, entity_count: int, records: list[str]) -> MetadataDocument:
        """The entry's document brought to ``header_text`` plus ``records`` (the records after the known ones)."""
        header = json.loads(header_text)
        doc = entry.doc
        if doc is None or len(doc.entities) + len(records) != entity_count:
            raise _Stale
        for record in records:
            doc.add_entity(json.loads(record))
        doc.header = header
        return doc

    def _query_document(self, conn: psycopg.Connection[Any], run_id: str, entry: _Entry,
                        lock: bool) -> tuple[MetadataDocument, int, str | None, bool]:
        """(document, revision, metadata ETag, lapsed) of a run, read in one statement (one snapshot)."""
        known = entry.doc.entities[-1]["sequence"] if entry.doc is not None and entry.doc.entities else 0
        for after in (known, 0) if entry.doc is not None else (0,):
            if after == 0:
                entry.doc = MetadataDocument({}, [])
            row = conn.execute(
                f"""SELECT r.header, r.revision, r.entity_count, r.metadata_etag, {_LAPSED},
                           ARRAY(SELECT e.record FROM entities e WHERE e.run_id = r.run_id AND e.sequence > %s
                                 ORDER BY e.sequence)
                    FROM runs r WHERE r.run_id = %s {"FOR UPDATE OF r" if lock else ""}""",
                (after, run_id)).fetchone()
            if row is None:
                entry.doc = None
                raise RunNotFoundError(f"run {run_id!r} not found in the shared store")
            header_text, revision, count, etag, lapsed, records = row
            try:
                return self._catch_up(entry, header_text, count, records), int(revision), etag, bool(lapsed)
            except _Stale:
                continue  # the records known here are not the database's: read them all once
            except (ValueError, TypeError) as exc:
                entry.doc = None
                raise CorruptRunError(f"run {run_id!r}: its document in the database is not valid JSON") from exc
        entry.doc = None
        raise CorruptRunError(f"run {run_id!r}: the database lists another number of entities than it holds")

    def read(self, run_id: str) -> Snapshot:
        """The run as committed now (a copy). RunNotFoundError; StorageError when the database is unreachable."""
        entry = self._entry(run_id)
        with entry.lock, self.db.connection(f"read run {run_id!r}") as conn:
            try:
                doc, _, _, lapsed = self._query_document(conn, run_id, entry, lock=False)
            except BaseException:
                entry.doc = None
                raise
            return Snapshot(doc.to_dict(), lapsed)

    def document_bytes(self, run_id: str) -> bytes:
        """metadata.json as the bucket holds it after the last commit (built from the database: no object read)."""
        entry = self._entry(run_id)
        with entry.lock, self.db.connection(f"read run {run_id!r}") as conn:
            try:
                doc, _, _, _ = self._query_document(conn, run_id, entry, lock=False)
            except BaseException:
                entry.doc = None
                raise
            return doc.to_bytes()

    # -- writing ------------------------------------------------------------------------------------------------

    def create(self, header: dict[str, Any], writer_id: str) -> tuple[dict[str, Any], bool]:
        """Create the run of ``header`` (see runformat.new_header), or find the one that exists: (document, created).
        The caller compares settings."""
        run_id = str(header["run_id"])
        entry = self._entry(run_id)
        doc = MetadataDocument(header, [])
        with entry.lock, self.db.connection(f"create run {run_id!r}") as conn:
            with conn.transaction():
                inserted = conn.execute(
                    """INSERT INTO runs (run_id, ts_us, config_name, execution_mode, safety_level, user_id, status,
                                         revision, entity_count, header, summary)
                       VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 0, %s, %s)
                       ON CONFLICT (run_id) DO NOTHING RETURNING run_id""",
                    (run_id, timestamp_us(header["timestamp"]), header["config_name"], header["execution_mode"],
                     header["safety_level"], header["user_id"], header["status"], header["revision"],
                     _text(header), _summary(doc))).fetchone()
                if inserted is not None:
                    # Over anything a creator killed before its commit left at this key.
                    etag = self.bucket.put(self.key(run_id), doc.chunks())
                    self._record(conn, run_id, doc, etag, writer_id, None)
                    entry.doc = doc
                    return doc.to_dict(), True
            found, _, _, _ = self._query_document(conn, run_id, entry, lock=False)
            return found.to_dict(), False

    def change(self, run_id: str, writer_id: str, what: str,
               apply: Callable[[MetadataDocument, bool], T]) -> T:
        """Run ``apply(document, first_attempt)`` on the run's document in its transaction and commit what it did.

        ``apply`` raises to refuse (nothing is written) and otherwise changes the document in place; the header's
        revision and ``updated_at`` are set before it is called. It may put objects of its own when
        ``first_attempt`` is true (it is called again, with a higher revision, when another writer's
        metadata.json must be overtaken). Returns what ``apply`` returned.
        """
        entry = self._entry(run_id)
        with entry.lock, self.db.connection(f"{what}") as conn:
            try:
                with conn.transaction():
                    return self._change_locked(conn, run_id, entry, writer_id, apply)
            except Unchanged:
                entry.doc = None
                return None  # type: ignore[return-value]  # only apply functions that return None raise it
            except BaseException:
                entry.doc = None  # memory may hold what was not committed: read the database next time
                raise

    def _change_locked(self, conn: psycopg.Connection[Any], run_id: str, entry: _Entry, writer_id: str,
                       apply: Callable[[MetadataDocument, bool], T]) -> T:
        doc, revision, etag, _ = self._query_document(conn, run_id, entry, lock=True)
        floor = revision
        for attempt in range(_PUT_ATTEMPTS):
            if attempt:
                doc, _, _, _ = self._query_document(conn, run_id, _reset(entry), lock=True)
            doc.header["revision"] = floor + 1
            doc.header["updated_at"] = runformat.utc_now()
            result = apply(doc, attempt == 0)
            try:
                new_etag = self.bucket.put(self.key(run_id), doc.chunks(), if_match=etag)
            except PreconditionFailed:
                # A writer put a metadata.json and died before committing it: go past its revision.
                etag, bucket_revision = self._bucket_version(run_id)
                floor = max(floor, bucket_revision)
                continue
            added = doc.entities[-1] if doc.entities and doc.entities[-1].get("revision") == floor + 1 else None
            self._record(conn, run_id, doc, new_etag, writer_id, added)
            return result
        raise CorruptRunError(f"run {run_id!r}: metadata.json in the bucket keeps changing behind the database")

    def _bucket_version(self, run_id: str) -> tuple[str | None, int]:
        """(ETag, revision) of the run's metadata.json in the bucket now; revision 0 when it is unreadable."""
        try:
            info, data = self.bucket.get_with_etag(self.key(run_id))
        except FileNotFoundError:
            return None, 0
        with contextlib.suppress(ValueError, TypeError, KeyError):
            return info, int(json.loads(data)["revision"])
        return info, 0

    def _record(self, conn: psycopg.Connection[Any], run_id: str, doc: MetadataDocument, etag: str,
                writer_id: str, added: dict[str, Any] | None) -> None:
        """The committed document's row, its new entity record, the writer's lease and the notification: sent in
        one round trip (pipeline); they commit with the transaction."""
        header = doc.header
        revision = int(header["revision"])
        with conn.pipeline():
            conn.execute(
                """UPDATE runs SET header = %s, revision = %s, entity_count = %s, status = %s, summary = %s,
                                   metadata_etag = %s, updated_at = now(),
                                   lease_expires_at = CASE WHEN %s THEN greatest(lease_expires_at,
                                                        now() + make_interval(secs => %s)) ELSE lease_expires_at END
                   WHERE run_id = %s""",
                (_text(header), revision, len(doc.entities), header["status"], _summary(doc), etag,
                 header["status"] == runformat.RUNNING, self.lease_seconds, run_id))
            if added is not None:
                conn.execute("""INSERT INTO entities (run_id, sequence, revision, entity_type, filename, record)
                                VALUES (%s, %s, %s, %s, %s, %s)""",
                             (run_id, added["sequence"], revision, added["type"], added["filename"],
                              runformat.dumps_compact(added).decode()))
            if header["status"] == runformat.RUNNING:
                conn.execute("""INSERT INTO leases (run_id, writer_id, expires_at)
                                VALUES (%s, %s, now() + make_interval(secs => %s))
                                ON CONFLICT (run_id, writer_id) DO UPDATE SET expires_at = excluded.expires_at""",
                             (run_id, writer_id, self.lease_seconds))
            conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"{run_id} {revision}"))

    # -- leases -------------------------------------------------------------------------------------------------

    def renew_lease(self, run_id: str, writer_id: str) -> None:
        """The writer is alive: its lease of the run runs for another ``lease_seconds``."""
        with self.db.connection(f"renew the lease of run {run_id!r}") as conn, conn.transaction():
            conn.execute("""INSERT INTO leases (run_id, writer_id, expires_at)
                            SELECT run_id, %s, now() + make_interval(secs => %s) FROM runs WHERE run_id = %s
                            ON CONFLICT (run_id, writer_id) DO UPDATE SET expires_at = excluded.expires_at""",
                         (writer_id, self.lease_seconds, run_id))
            conn.execute("""UPDATE runs SET lease_expires_at = (SELECT max(expires_at) FROM leases
                                                                 WHERE leases.run_id = runs.run_id)
                            WHERE run_id = %s""", (run_id,))

    def release_lease(self, run_id: str, writer_id: str) -> None:
        """The writer has stopped writing the run (its lease ends now)."""
        with self.db.connection(f"release the lease of run {run_id!r}") as conn, conn.transaction():
            conn.execute("DELETE FROM leases WHERE run_id = %s AND writer_id = %s", (run_id, writer_id))
            conn.execute("""UPDATE runs SET lease_expires_at = (SELECT max(expires_at) FROM leases
                                                                 WHERE leases.run_id = runs.run_id)
                            WHERE run_id = %s""", (run_id,))

    # -- removing -----------------------------------------------------------------------------------------------

    def delete(self, run_id: str) -> bool:
        """Remove a run: its rows first (it stops being listed), then its objects. Whether it existed."""
        with self.db.connection(f"delete run {run_id!r}") as conn:
            deleted = conn.execute("DELETE FROM runs WHERE run_id = %s RETURNING run_id", (run_id,)).fetchone()
        self.forget(run_id)
        for info in list(self.bucket.objects(f"{self.runs_prefix}/{run_id}")):
            self.bucket.delete(info.key)
        return deleted is not None

    @contextlib.contextmanager
    def pinned(self, run_id: str) -> Iterator[None]:
        """Hold this process's lock of one run (tests use it to order threads)."""
        with self._entry(run_id).lock:
            yield


class Unchanged(Exception):
    """Raised by a change's ``apply`` when there is nothing to write (the change then writes nothing)."""


class _Stale(Exception):
    """The cached records are not a prefix of the database's."""


def _reset(entry: _Entry) -> _Entry:
    entry.doc = None
    return entry


def _text(header: dict[str, Any]) -> str:
    return runformat.dumps_compact({key: value for key, value in header.items() if key != "entities"}).decode()


def _summary(doc: MetadataDocument) -> str:
    return json.dumps(runformat.summarize({**doc.header, "entities": doc.entities}), ensure_ascii=False)
