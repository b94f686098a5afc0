"""The runs of a shared store in PostgreSQL and the bucket: created, read (only what this process has not seen),
recorded after a change, leased and deleted. The transaction that changes a run is in transaction.py.

The database holds each run's document -- its header as JSON text (key order kept) and its entity records as the
very JSON fragments metadata.json holds -- so a replica builds a run's metadata.json, byte for byte what the bucket
holds, without reading the bucket; the runs' documents are cached per process and only records appended since are
fetched (one statement, one snapshot).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import psycopg

from ... import runfields, runformat
from ...document import MetadataDocument, dumps_compact
from ...errors import CorruptRunError, RunNotFoundError
from ...index import search, timestamp_us
from ...naming import METADATA_FILENAME
from .database import CHANNEL, Database
from .listing import add_words
from .objects import Bucket

MAX_CACHED_RUNS = 512


@dataclass
class Entry:
    """What this process knows of one run's document; ``lock`` orders its threads' use of it."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    doc: MetadataDocument | None = None
    # The liveness of the run's leases as the last read of its row found it (the database's clock): True while one
    # lasts, False when all ended, None when it has none; and when that read was (monotonic seconds).
    leased: bool | None = None
    leased_at: float = float("-inf")


@dataclass(frozen=True)
class Row:
    """One consistent reading of a run's row: its document (the cached object: read-only outside the entry's
    lock), revision, the ETag of the metadata.json the database recorded, and whether its leases all lapsed."""

    doc: MetadataDocument
    revision: int
    etag: str | None


class _Stale(Exception):
    """The cached records are not a prefix of the database's."""


class SharedRuns:
    """The runs of one shared store (its database and bucket), for every thread of this process."""

    def __init__(self, db: Database, bucket: Bucket, runs_prefix: str) -> None:
        self.db = db
        self.bucket = bucket
        self.runs_prefix = runs_prefix
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._entries_lock = threading.Lock()

    def key(self, run_id: str, filename: str = METADATA_FILENAME) -> str:
        return f"{self.runs_prefix}/{run_id}/{filename}"

    def entry(self, run_id: str) -> Entry:
        with self._entries_lock:
            entry = self._entries.get(run_id)
            if entry is None:
                entry = self._entries[run_id] = Entry()
                while len(self._entries) > MAX_CACHED_RUNS:
                    self._entries.popitem(last=False)
            self._entries.move_to_end(run_id)
            return entry

    def known(self, run_id: str) -> bool:
        """Whether this process has read the run (a cheap hint, not proof, that it exists)."""
        with self._entries_lock:
            entry = self._entries.get(run_id)
        return entry is not None and entry.doc is not None

    # -- reading ------------------------------------------------------------------------------------------------

    def query(self, conn: psycopg.Connection[Any], run_id: str, entry: Entry, *, lock: bool) -> Row:
        """The run's row and document, in one statement; the entry's document is brought up to date. Caller holds
        ``entry.lock``. RunNotFoundError, CorruptRunError."""
        known = entry.doc.entities[-1]["sequence"] if entry.doc is not None and entry.doc.entities else 0
        for after in (known, 0) if known else (0,):
            # The leases' verdict comes with the row, so that judging a running run costs no second round trip.
            read = """SELECT r.header, r.revision, r.entity_count, r.metadata_etag,
                             ARRAY(SELECT e.record FROM entities e WHERE e.run_id = r.run_id AND e.sequence > %s
                                   ORDER BY e.sequence),
                             r.lease_expires_at > now()
                      FROM runs r WHERE r.run_id = %s"""
            if lock:
                # The lock first, then the read in a statement of its own: a statement that waited for a row
                # lock sees the row as the other writer committed it but the rest (the entities) as of before
                # it waited. Both go in one round trip (pipeline); the read's snapshot is taken after the lock.
                with conn.pipeline():
                    conn.execute("SELECT 1 FROM runs WHERE run_id = %s FOR UPDATE", (run_id,))
                    cursor = conn.execute(read, (after, run_id))
                row = cursor.fetchone()
            else:
                row = conn.execute(read, (after, run_id)).fetchone()
            if row is None:
                entry.doc = None
                raise RunNotFoundError(f"run {run_id!r} not found in the shared store")
            header_text, revision, count, etag, records, leased = row
            entry.leased, entry.leased_at = leased, time.monotonic()
            try:
                doc = entry.doc if after else MetadataDocument({}, [])
                if doc is None or len(doc.entities) + len(records) != count:
                    raise _Stale
                header = json.loads(header_text)
                for record in records:
                    doc.add_entity(json.loads(record))
            except _Stale:
                entry.doc = None
                continue  # the records known here are not the database's: read them all once
            except (ValueError, TypeError) as exc:
                entry.doc = None
                raise CorruptRunError(f"run {run_id!r}: its document in the database is not valid JSON") from exc
            doc.header = header
            entry.doc = doc
            return Row(doc, int(revision), etag)
        raise CorruptRunError(f"run {run_id!r}: the database lists another number of entities than it holds")

    def read(self, run_id: str, known: object = None) -> tuple[str, bytes] | None:
        """(version, metadata.json bytes) of the run as committed, or None when its version is still ``known``.
        RunNotFoundError; StorageError when the database cannot be reached."""
        entry = self.entry(run_id)
        with entry.lock, self.db.connection(f"read run {run_id!r}") as conn:
            row = self.query(conn, run_id, entry, lock=False)
            version = row.etag or f"r{row.revision}"
            return None if version == known else (version, row.doc.to_bytes())

    def bucket_version(self, run_id: str) -> tuple[str | None, int]:
        """(ETag, revision) of the run's metadata.json in the bucket now; revision 0 when it is unreadable."""
        try:
            etag, data = self.bucket.get_with_etag(self.key(run_id))
        except FileNotFoundError:
            return None, 0
        with contextlib.suppress(ValueError, TypeError, KeyError):
            return etag, int(json.loads(data)["revision"])
        return etag, 0

    # -- writing ------------------------------------------------------------------------------------------------

    def create(self, run_id: str, doc: MetadataDocument) -> bool:
        """Make the run appear whole with ``doc``: its row and its metadata.json, committed together (a creator
        killed in between leaves no row, and the next creator's put replaces its object). False when it
        existed already (nothing is written)."""
        entry = self.entry(run_id)
        with entry.lock, self.db.connection(f"create run {run_id!r}") as conn, conn.transaction():
            if not self.insert(conn, run_id, doc):
                return False
        entry.doc = MetadataDocument.from_dict({**doc.header, "entities": doc.entities})
        return True

    def insert(self, conn: psycopg.Connection[Any], run_id: str, doc: MetadataDocument) -> bool:
        """The run's row, entity records and metadata.json, in the caller's transaction (creation, and a restore
        from the trash); False when the run's row exists."""
        header = doc.header
        inserted = conn.execute(
            """INSERT INTO runs (run_id, ts_us, config_name, execution_mode, safety_level, user_id, status,
                                 revision, entity_count, header, summary)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 0, '{}', '{}')
               ON CONFLICT (run_id) DO NOTHING RETURNING run_id""",
            (run_id, timestamp_us(header["timestamp"]), header["config_name"], header["execution_mode"],
             header["safety_level"], header["user_id"], header["status"], header["revision"])).fetchone()
        if inserted is None:
            return False
        etag = self.bucket.put(self.key(run_id), doc.chunks())
        self.record(conn, run_id, doc, etag, doc.entities)
        return True

    def record(self, conn: psycopg.Connection[Any], run_id: str, doc: MetadataDocument, etag: str,
               added: list[dict[str, Any]], lease: tuple[str, float] | None = None,
               heads: dict[str, bytes] | None = None) -> None:
        """The committed document's row, its new entity records, the writer's lease (``(holder, ttl)``) and the
        notification, sent in one round trip (pipeline); they commit with the caller's transaction, which holds
        the run's row. ``heads``: the first bytes of entities just placed, by filename (full-text search)."""
        self._add_words(conn, run_id, added, heads or {})
        header = doc.header
        revision = int(header["revision"])
        with conn.pipeline():
            fields = runfields.listed(header)
            conn.execute(
                """UPDATE runs SET header = %s, revision = %s, entity_count = %s, status = %s, summary = %s,
                                   config_name = %s, user_id = %s, ts_us = %s, metadata_etag = %s,
                                   kind = %s, session_id = %s, device_id = %s, tags = %s::jsonb,
                                   updated_at = now()
                   WHERE run_id = %s""",
                (_header_text(header), revision, len(doc.entities), header["status"], _summary(doc),
                 header["config_name"], header["user_id"], timestamp_us(header["timestamp"]), etag,
                 fields["kind"], fields["session_id"], fields["device_id"], json.dumps(fields["tags"]), run_id))
            if added:
                with conn.cursor() as cur:
                    cur.executemany(
                        """INSERT INTO entities (run_id, sequence, revision, entity_type, filename, record)
                           VALUES (%s, %s, %s, %s, %s, %s)""",
                        [(run_id, record["sequence"], revision, record["type"], record["filename"],
                          dumps_compact(record).decode()) for record in added])
            if lease is not None:
                self._lease_statements(conn, run_id, *lease)
            conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"{run_id} {revision}"))

    def _add_words(self, conn: psycopg.Connection[Any], run_id: str, added: list[dict[str, Any]],
                   heads: dict[str, bytes]) -> None:
        """Full-text search: the words of the added text entities (read from the bucket when not given)."""
        texts = []
        for record in added:
            if not search.is_searchable(record):
                continue
            filename = str(record["filename"])
            head = heads.get(filename)
            if head is None:
                try:
                    head = b"".join(self.bucket.read_range(self.key(run_id, filename), 0, search.TEXT_BYTES))
                except FileNotFoundError:
                    continue
            texts.append(search.head_text(head))
        add_words(conn, run_id, texts)

    # -- leases -------------------------------------------------------------------------------------------------

    def renew_lease(self, conn: psycopg.Connection[Any], run_id: str, holder: str, ttl: float) -> None:
        """``holder``'s lease of the run now ends ``ttl`` seconds from now (the database's clock). Takes the run's
        row first, as every change does (the same order everywhere: no deadlock with a change in progress)."""
        self._lock_row(conn, run_id)
        with conn.pipeline():
            self._lease_statements(conn, run_id, holder, ttl)

    def release_lease(self, conn: psycopg.Connection[Any], run_id: str, holder: str) -> None:
        """``holder``'s lease ends now; it is kept, expired, so that a run left running reads interrupted."""
        self._lock_row(conn, run_id)
        self._forget_verdict(run_id)
        conn.execute("UPDATE leases SET expires_at = least(expires_at, now()) WHERE run_id = %s AND writer_id = %s",
                     (run_id, holder))
        self._sync_lease_end(conn, run_id)

    @staticmethod
    def _lock_row(conn: psycopg.Connection[Any], run_id: str) -> None:
        if conn.execute("SELECT 1 FROM runs WHERE run_id = %s FOR UPDATE", (run_id,)).fetchone() is None:
            raise RunNotFoundError(f"run {run_id!r} not found in the shared store")

    def _forget_verdict(self, run_id: str) -> None:
        """A lease changes: the verdict of the last read no longer stands (the next judgement asks again)."""
        with self._entries_lock:
            entry = self._entries.get(run_id)
        if entry is not None:
            entry.leased_at = float("-inf")

    def _lease_statements(self, conn: psycopg.Connection[Any], run_id: str, holder: str, ttl: float) -> None:
        self._forget_verdict(run_id)
        conn.execute("""INSERT INTO leases (run_id, writer_id, expires_at)
                        VALUES (%s, %s, now() + make_interval(secs => %s))
                        ON CONFLICT (run_id, writer_id) DO UPDATE SET expires_at = excluded.expires_at""",
                     (run_id, holder, ttl))
        self._sync_lease_end(conn, run_id)

    @staticmethod
    def _sync_lease_end(conn: psycopg.Connection[Any], run_id: str) -> None:
        # The listing judges liveness from this one column (an index-friendly comparison, no join).
        conn.execute("""UPDATE runs SET lease_expires_at = (SELECT max(expires_at) FROM leases
                                                             WHERE leases.run_id = runs.run_id)
                        WHERE run_id = %s""", (run_id,))

    def lease_verdict(self, run_id: str, within: float) -> tuple[bool, bool | None]:
        """(known, verdict): the leases' verdict of the last read of the run's row, if it is at most ``within``
        seconds old (else known is False)."""
        with self._entries_lock:
            entry = self._entries.get(run_id)
        if entry is None or time.monotonic() - entry.leased_at > within:
            return False, None
        return True, entry.leased

    def leases(self, run_id: str) -> dict[str, float]:
        with self.db.connection(f"read the leases of run {run_id!r}") as conn:
            return self.leases_in(conn, run_id)

    @staticmethod
    def leases_in(conn: psycopg.Connection[Any], run_id: str) -> dict[str, float]:
        """The run's leases (holder -> when it ends, seconds since the epoch) as ``conn``'s transaction sees them."""
        rows = conn.execute("SELECT writer_id, extract(epoch FROM expires_at) FROM leases WHERE run_id = %s",
                            (run_id,)).fetchall()
        return {str(holder): float(ends) for holder, ends in rows}

    # -- removing -----------------------------------------------------------------------------------------------

    def delete_objects(self, run_id: str) -> None:
        """Delete every object of the run from the bucket (its document, entities and helper files)."""
        for info in list(self.bucket.objects(f"{self.runs_prefix}/{run_id}")):
            self.bucket.delete(info.key)

    def forget(self, run_id: str) -> None:
        with self._entries_lock:
            self._entries.pop(run_id, None)


def _header_text(header: dict[str, Any]) -> str:
    return dumps_compact({key: value for key, value in header.items() if key != "entities"}).decode()


def _summary(doc: MetadataDocument) -> str:
    return json.dumps(runformat.summarize({**doc.header, "entities": doc.entities}), ensure_ascii=False)
