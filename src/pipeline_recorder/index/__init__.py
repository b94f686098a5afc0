"""RunIndex: an embedded SQLite index of the runs in a store, for listing and filtering at scale.

The run folders stay the source of truth; the index is a cache of one summary row per run that is rebuilt from
them when it is missing, corrupt or of another schema version, and kept fresh without reading 100,000 folders
per request::

    index = RunIndex(RunStore(base_path))
    runs, next_cursor = index.query(status="completed", limit=50)
    more, _ = index.query(status="completed", cursor=next_cursor)

Freshness: every ``query`` first runs a cheap ``refresh`` (figures and bounds: docs/PERFORMANCE.md, Listing):

- New, renamed-into-place and deleted run folders: learnt from inotify on the runs dir (drained without blocking
  at each refresh), so a new run costs one read. Without inotify (other systems, no instances left) the runs dir's
  mtime is compared with the one recorded at the last scan and the folder names are rescanned when it differs.
- Runs whose metadata.json says ``running`` (up to ``RUNNING_BATCH`` per refresh, round robin): their
  metadata.json signature (inode, size, mtime, ctime) is compared and the file re-read when it changed; the
  liveness of their writers (``owner`` and ``writers``, judged by ``liveness.run_is_alive`` as every other reader
  does) is checked, so a run whose last writer died lists as ``interrupted`` at the next query.
- Folders present but not listable (no or unreadable metadata.json yet, half deleted): retried each refresh.
- Runs already finished change only through out-of-band tools rewriting metadata.json in place (a folder replaced
  by a rename arrives through inotify): a sweep checks the signatures of ``SWEEP_BATCH`` of them per refresh, so
  such a change shows within ``ceil(runs / SWEEP_BATCH)`` queries; ``note(run_id)`` makes one run current at once.
- A signature whose mtime is within ``RACY_NS`` of the read may share a clock tick with a change not yet visible:
  it is never trusted, and read again next time.

Several processes may share one index (WAL mode, a busy timeout; folder scans are serialised by a lock file so a
cold rebuild is done once). A run folder that cannot be read is skipped, never an error of the listing. When the
index file cannot be written (a read-only store), the index lives in memory for this process.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import ctypes
import errno
import fcntl
import gc
import json
import logging
import os
import shutil
import sqlite3
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from .. import runformat
from ..errors import CorruptRunError, ValidationError
from ..liveness import run_is_alive
from ..naming import METADATA_FILENAME, RUN_ID_PATTERN
from ..store import RunStore, parse_metadata

log = logging.getLogger(__name__)
_T = TypeVar("_T")

# 2: the ``writers`` column holds every recorded writer (``owner`` and ``writers``), not only the owner.
SCHEMA_VERSION = "2"
INDEX_DIRNAME = ".index"  # a helper folder: its WAL files then never touch the runs dir's mtime
INDEX_FILENAME = "runs.sqlite3"
SYNC_LOCK_FILENAME = "sync.lock"
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
RUNNING_BATCH = 512
SKIPPED_BATCH = 256
SWEEP_BATCH = 32
WRITE_BATCH = 2000
# A directory or file mtime this close to "now" may share a clock tick with a change not yet visible to us.
RACY_NS = 100_000_000
BUSY_TIMEOUT_S = 5.0

SUMMARY_KEYS = ("run_id", "config_name", "execution_mode", "safety_level", "user_id", "status", "timestamp",
                "updated_at", "finished_at", "current_state", "progress", "entity_count")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT NOT NULL UNIQUE,
    ts_us INTEGER NOT NULL,
    config_name TEXT NOT NULL,
    user_id TEXT NOT NULL,
    status TEXT NOT NULL,
    disk_status TEXT NOT NULL,
    writers TEXT,
    sig TEXT NOT NULL,
    summary TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS skipped (run_id TEXT PRIMARY KEY, sig TEXT NOT NULL);
"""
# The listing indexes: dropped during a cold build and made again after it, which is 3-4x faster than keeping
# five B-trees sorted through 100,000 inserts in random order.
_INDEXES = {
    "runs_order": "runs (ts_us, run_id)",
    "runs_config": "runs (config_name, ts_us, run_id)",
    "runs_user": "runs (user_id, ts_us, run_id)",
    "runs_status": "runs (status, ts_us, run_id)",
    "runs_running": "runs (run_id) WHERE disk_status = 'running'",
}
BULK_THRESHOLD = 10_000
# SQLite's primary result codes (an error's extended code & 0xFF).
_CORRUPT_CODES = frozenset({11, 26})  # SQLITE_CORRUPT, SQLITE_NOTADB
_READONLY = 8  # SQLITE_READONLY: the file or its folder cannot be written (read-only store)
_SKIPPABLE_CODES = frozenset({5, 6, 10, 13})  # SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR, SQLITE_FULL


def _code(exc: sqlite3.Error) -> int:
    return int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


@dataclass(frozen=True)
class _Row:
    """One run as the index stores it."""

    run_id: str
    ts_us: int
    config_name: str
    user_id: str
    status: str
    disk_status: str
    writers: str | None  # JSON {"owner", "writers"} of a running run: what run_is_alive judges; else None
    sig: str
    summary: str

    def values(self) -> tuple[Any, ...]:
        return (self.run_id, self.ts_us, self.config_name, self.user_id, self.status, self.disk_status,
                self.writers, self.sig, self.summary)


@dataclass
class _Changes:
    """What a refresh found, written to the database in one short transaction."""

    upserts: list[_Row]
    skipped: dict[str, str]  # run_id -> signature of a folder present but not listable
    removed: set[str]  # no folder any more
    statuses: dict[str, str]  # run_id -> new effective status (liveness), file unchanged
    dir_sig: str | None = None  # the runs dir signature all of this brings the index up to

    def __bool__(self) -> bool:
        return bool(self.upserts or self.skipped or self.removed or self.statuses or self.dir_sig)


def _empty_changes() -> _Changes:
    return _Changes([], {}, set(), {})


# -- pure helpers: parameters, cursor, timestamps ---------------------------------------------------------------


def timestamp_us(value: str) -> int:
    """Microseconds since the epoch of an ISO 8601 datetime (a naive one is taken as UTC). ValueError if malformed."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return (parsed - _EPOCH) // timedelta(microseconds=1)


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


def _create_indexes(conn: sqlite3.Connection) -> None:
    for name, definition in _INDEXES.items():
        conn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")


def _indexes_missing(conn: sqlite3.Connection) -> bool:
    found = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN "
                         f"({', '.join('?' * len(_INDEXES))})", tuple(_INDEXES)).fetchone()[0]
    return int(found) < len(_INDEXES)


# -- reading one run folder ---------------------------------------------------------------------------------------


def _signature(st: os.stat_result) -> str:
    sig = f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"
    # A file changed within the same clock tick as our read may change again unseen: never trust such a signature.
    return "racy:" + sig if time.time_ns() - st.st_mtime_ns < RACY_NS else sig


def summarize(doc: dict[str, Any]) -> dict[str, Any]:
    """The listing summary of a run's metadata (liveness already applied to ``doc['status']``)."""
    state = doc.get("current_state")
    summary = {key: doc.get(key) for key in SUMMARY_KEYS[:-3]}
    summary["current_state"] = state
    summary["progress"] = state.get("progress") if isinstance(state, dict) else None
    summary["entity_count"] = len(doc.get("entities") or [])
    return summary


def _read_all(fd: int, size: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, max(size + 1, 65536)):
        chunks.append(chunk)
    return b"".join(chunks)


def _read_row(runs_dir: str, run_id: str) -> _Row | str | None:
    """The run's row; a signature string when the folder exists but cannot be listed; None when it is gone."""
    folder = f"{runs_dir}/{run_id}"  # plain strings: a cold build does this 100,000 times
    path = f"{folder}/{METADATA_FILENAME}"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return _folder_signature(folder)
    try:
        st = os.fstat(fd)
        sig = _signature(st)
        data = _read_all(fd, st.st_size)
    except OSError:
        return _folder_signature(folder)
    finally:
        os.close(fd)
    try:
        doc = parse_metadata(data, Path(path))
    except CorruptRunError as exc:
        log.info("run index: skipping %s: %s", run_id, exc)
        return sig
    if doc["run_id"] != run_id:
        log.info("run index: skipping %s: its metadata.json names run %r", run_id, doc["run_id"])
        return sig
    timestamp = doc.get("timestamp")
    try:
        ts_us = timestamp_us(timestamp) if isinstance(timestamp, str) else 0
    except (ValueError, OverflowError):
        ts_us = 0  # listed, as the oldest: an odd timestamp must not hide a run
    disk_status = str(doc["status"])
    writers = _writers_of(doc) if disk_status == runformat.RUNNING else None
    status = disk_status
    if writers is not None and not run_is_alive(writers):
        status = runformat.INTERRUPTED
    doc["status"] = status
    return _Row(
        run_id=run_id,
        ts_us=ts_us,
        config_name=str(doc.get("config_name")),
        user_id=str(doc.get("user_id")),
        status=status,
        disk_status=disk_status,
        writers=json.dumps(writers) if writers is not None else None,
        sig=sig,
        summary=json.dumps(summarize(doc), ensure_ascii=False),
    )


def _writers_of(doc: dict[str, Any]) -> dict[str, Any]:
    """The part of a run's metadata that ``run_is_alive`` judges: every recorded writer, not only the last."""
    return {"owner": doc.get("owner"), "writers": doc.get("writers")}


def _folder_signature(folder: str | Path) -> str | None:
    """A signature for a folder without a readable metadata.json, or None if the folder is gone."""
    try:
        st = os.stat(folder, follow_symlinks=False)
    except OSError:
        return None
    return "folder:" + _signature(st)


def _metadata_signature(runs_dir: str, run_id: str) -> str | None:
    try:
        # Plain strings: this runs for every checked run on every refresh, and pathlib would double its cost.
        st = os.stat(f"{runs_dir}/{run_id}/{METADATA_FILENAME}", follow_symlinks=False)
    except OSError:
        return None
    return _signature(st)


def _same(stored: str, current: str | None) -> bool:
    return current is not None and not stored.startswith("racy:") and stored == current


# -- new and vanished run folders, from the kernel ----------------------------------------------------------------

_IN_MOVED_FROM, _IN_MOVED_TO, _IN_CREATE, _IN_DELETE = 0x40, 0x80, 0x100, 0x200
_IN_DELETE_SELF, _IN_MOVE_SELF, _IN_Q_OVERFLOW, _IN_IGNORED, _IN_ONLYDIR = 0x400, 0x800, 0x4000, 0x8000, 0x1000000
_IN_LOST = _IN_DELETE_SELF | _IN_MOVE_SELF | _IN_Q_OVERFLOW | _IN_IGNORED
_EVENT = struct.Struct("iIII")


class _DirWatch:
    """The names of entries created, deleted or moved in one folder since the last ``drain`` (Linux inotify).

    Read without blocking and without a thread: each refresh drains what the kernel queued. When the kernel lost
    track (queue overflow, the folder itself deleted or moved), ``drain`` answers None and the caller rescans.
    """

    def __init__(self, folder: str) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        mask = _IN_CREATE | _IN_DELETE | _IN_MOVED_FROM | _IN_MOVED_TO | _IN_DELETE_SELF | _IN_MOVE_SELF | _IN_ONLYDIR
        if libc.inotify_add_watch(fd, os.fsencode(folder), mask) < 0:
            error = ctypes.get_errno()
            os.close(fd)
            raise OSError(error, f"inotify_add_watch failed on {folder}")
        self.fd: int | None = fd
        self.pid = os.getpid()

    def drain(self) -> set[str] | None:
        names: set[str] = set()
        lost = False
        while self.fd is not None:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                break
            offset = 0
            while offset + _EVENT.size <= len(data):
                _, mask, _, length = _EVENT.unpack_from(data, offset)
                name = data[offset + _EVENT.size : offset + _EVENT.size + length].split(b"\0", 1)[0]
                offset += _EVENT.size + length
                if mask & _IN_LOST:
                    lost = True
                elif name:
                    names.add(os.fsdecode(name))
        return None if lost else names

    def close(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None and self.pid == os.getpid():
            os.close(fd)

    def __del__(self) -> None:
        # An index dropped without close() must not keep an inotify instance (128 per user by default).
        with contextlib.suppress(OSError):
            self.close()


# -- the index ----------------------------------------------------------------------------------------------------


class RunIndex:
    """An SQLite index of the runs under ``store``, answering newest-first listings with filters and a cursor.

    ``db_path`` defaults to ``{store.runs_dir}/.index/runs.sqlite3`` (a helper folder, so never a run). Safe to use
    from several threads (calls are serialised) and several processes (WAL mode).
    """

    def __init__(self, store: RunStore, db_path: Path | None = None) -> None:
        self.store = store
        self.runs_dir = store.runs_dir
        self._runs_dir_str = str(store.runs_dir)
        self.db_path = db_path if db_path is not None else self.runs_dir / INDEX_DIRNAME / INDEX_FILENAME
        self._mutex = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._db_ino: int | None = None
        self._in_memory = False
        self._pid = os.getpid()
        self._watch: _DirWatch | None = None
        self._watching = sys.platform == "linux"  # else (or if inotify fails) the runs dir's mtime tells of changes
        self._watch_synced = False  # the index matched the folders when the watch began
        self._running_after = ""  # round-robin positions, per process
        self._skipped_after = ""
        self._sweep_after = 0

    # -- connection ---------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the database connection (a later call reopens it)."""
        with self._mutex:
            if self._conn is not None:
                self._conn.close()
            self._conn = None
            if self._watch is not None:
                self._watch.close()
            self._watch, self._watch_synced = None, False

    def __enter__(self) -> RunIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connection(self) -> sqlite3.Connection:
        """The open connection; reopened when the file was deleted or replaced by another process."""
        if self._pid != os.getpid():
            # A forked child must not share the parent's SQLite connection or inotify queue: start its own.
            self._conn, self._watch, self._watch_synced, self._pid = None, None, False, os.getpid()
        if self._conn is not None and not self._in_memory:
            try:
                ino: int | None = os.stat(self.db_path).st_ino
            except OSError:
                ino = None
            if ino != self._db_ino:
                self.close()
        if self._conn is None:
            self._conn = self._open()
        return self._conn

    def _open(self) -> sqlite3.Connection:
        if not self._in_memory:
            try:
                return self._open_file()
            except sqlite3.DatabaseError as exc:
                if _code(exc) not in _CORRUPT_CODES:
                    log.warning("run index %s cannot be used (%s); keeping the index in memory", self.db_path, exc)
                    self._in_memory = True
                else:
                    log.warning("run index %s is corrupt (%s); rebuilding it from the run folders", self.db_path, exc)
                    self._remove_db_files()
                    try:
                        return self._open_file()
                    except (sqlite3.DatabaseError, OSError) as again:
                        log.warning("run index %s cannot be rebuilt (%s); keeping it in memory", self.db_path, again)
                        self._in_memory = True
            except OSError as exc:
                log.warning("run index %s cannot be created (%s); keeping the index in memory", self.db_path, exc)
                self._in_memory = True
        conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        self._prepare_schema(conn)
        return conn

    def _open_file(self) -> sqlite3.Connection:
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.db_path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            # The index is a cache of the folders: a commit lost to a power cut is rebuilt, so skip the fsyncs.
            conn.execute("PRAGMA synchronous=NORMAL")
            self._prepare_schema(conn)
            self._db_ino = os.stat(self.db_path).st_ino
        except BaseException:
            conn.close()
            raise
        return conn

    def _prepare_schema(self, conn: sqlite3.Connection) -> None:
        """Create the tables, or drop and recreate them when they are of another schema version."""
        version = self._schema_version(conn)
        if version == SCHEMA_VERSION:
            if _indexes_missing(conn):  # a cold build stopped halfway (it drops them while it inserts)
                self._write(conn, lambda: _create_indexes(conn))
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = self._schema_version(conn)
            if version != SCHEMA_VERSION:
                if version is not None or self._has_tables(conn):
                    log.warning("run index %s has schema %r, not %r: rebuilding it", self.db_path, version,
                                SCHEMA_VERSION)
                for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
                    conn.execute(f'DROP TABLE IF EXISTS "{name}"')
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                _create_indexes(conn)
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @staticmethod
    def _has_tables(conn: sqlite3.Connection) -> bool:
        return int(conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]) > 0

    @staticmethod
    def _schema_version(conn: sqlite3.Connection) -> str | None:
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.OperationalError:
            return None  # no meta table
        return str(row[0]) if row else None

    def _remove_db_files(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{self.db_path}{suffix}")

    def _use(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``work`` on the connection; a database found corrupt on the way is deleted, rebuilt, and retried once."""
        with self._mutex:
            try:
                return work(self._connection())
            except sqlite3.DatabaseError as exc:
                if self._in_memory or _code(exc) not in (*_CORRUPT_CODES, _READONLY):
                    raise
                self.close()
                if _code(exc) == _READONLY:
                    log.warning("run index %s is read-only (%s); keeping the index in memory", self.db_path, exc)
                    self._in_memory = True
                else:
                    log.warning("run index %s is corrupt (%s); rebuilding it from the folders", self.db_path, exc)
                    self._remove_db_files()
            return work(self._connection())

    @contextlib.contextmanager
    def _sync_lock(self) -> Iterator[None]:
        """Serialise folder scans across processes, so that a cold rebuild is done by one of them only."""
        if self._in_memory:
            yield
            return
        try:
            fd = os.open(self.db_path.parent / SYNC_LOCK_FILENAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError:
            yield  # cannot create the lock file: scans may then be done twice, which is only slower
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the flock

    # -- keeping the index fresh --------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Bring the index up to date with the run folders (cheap when little changed; see the module docstring)."""
        if not self.runs_dir.is_dir():
            return
        self._use(self._refresh)

    def rebuild(self) -> None:
        """Forget everything and index every run folder again."""

        def rebuild(conn: sqlite3.Connection) -> None:
            with self._sync_lock():
                self._write(conn, lambda: [conn.execute(sql) for sql in (
                    "DELETE FROM runs", "DELETE FROM skipped", "DELETE FROM meta WHERE key = 'dir_sig'")])
            self._watch_synced = False
            self._refresh(conn)

        self._use(rebuild)

    def note(self, run_id: str) -> None:
        """Make one run current in the index at once (a writer in this process that created or changed it)."""
        if RUN_ID_PATTERN.fullmatch(run_id) is None:
            return
        changes = _empty_changes()
        self._read_into(changes, run_id)
        self._use(lambda conn: self._apply(conn, changes))

    def _refresh(self, conn: sqlite3.Connection) -> None:
        changes = _empty_changes()
        self._start_watch()
        # The signature is taken before the events are drained, so that it never claims a change not yet seen.
        dir_sig = self._dir_signature()
        names = self._watch.drain() if self._watch is not None else None
        if self._watch is not None and names is None:
            log.info("run index: lost track of %s; rescanning it", self.runs_dir)
            self._watch.close()
            self._watch, self._watch_synced = None, False
            self._start_watch()
            dir_sig = self._dir_signature()
        use_events = self._watch is not None and self._watch_synced and names is not None
        self._watch_synced = self._watch is not None  # from here on; a write that fails sets it back
        if use_events and names is not None:
            for name in names:
                if RUN_ID_PATTERN.fullmatch(name):
                    self._read_into(changes, name)
            if dir_sig != self._meta(conn, "dir_sig"):
                changes.dir_sig = dir_sig  # lets other processes (and the next start) skip a rescan
        elif not _same(self._meta(conn, "dir_sig") or "racy:", dir_sig):
            with self._sync_lock():
                # Another process may have scanned while we waited for the lock.
                if not _same(self._meta(conn, "dir_sig") or "racy:", dir_sig) and self._scan(conn, dir_sig):
                    # Measured: after a cold build of 100,000 runs a full collection gives ~17 MB back to the
                    # OS (RSS 47 -> 31 MB) that a server would otherwise keep for its lifetime.
                    gc.collect()
        self._check_running(conn, changes)
        self._check_skipped(conn, changes)
        self._sweep(conn, changes)
        self._apply(conn, changes)

    def _start_watch(self) -> None:
        if self._watch is None and self._watching:
            try:
                self._watch = _DirWatch(self._runs_dir_str)
            except OSError as exc:
                if exc.errno != errno.ENOENT:
                    log.info("run index: cannot watch %s (%s); using its mtime instead", self.runs_dir, exc)
                    self._watching = False

    def _dir_signature(self) -> str:
        try:
            st = os.stat(self.runs_dir)
        except OSError:
            return "racy:missing"  # a missing runs dir is scanned (cheaply) every time
        return _signature(st)

    def _scan(self, conn: sqlite3.Connection, dir_sig: str) -> bool:
        """Compare the folder names with the index: read new runs, drop vanished ones. True after a bulk build."""
        known = {row[0] for row in conn.execute("SELECT run_id FROM runs UNION ALL SELECT run_id FROM skipped")}
        new: list[tuple[int, str]] = []
        try:
            with os.scandir(self.runs_dir) as entries:
                for entry in entries:
                    if entry.name in known:
                        known.discard(entry.name)  # what is left at the end has vanished
                    elif RUN_ID_PATTERN.fullmatch(entry.name) and entry.is_dir(follow_symlinks=False):
                        new.append((entry.inode(), entry.name))
        except FileNotFoundError:
            pass
        new.sort()  # inode order reads a cold disk far faster than hash order
        bulk = len(new) >= BULK_THRESHOLD and not conn.execute("SELECT 1 FROM runs LIMIT 1").fetchone()
        if bulk:
            self._write(conn, lambda: [conn.execute(f"DROP INDEX IF EXISTS {name}") for name in _INDEXES])
        changes = _empty_changes()
        changes.removed = known
        written = True
        for _, run_id in new:
            self._read_into(changes, run_id)
            if len(changes.upserts) + len(changes.skipped) >= WRITE_BATCH:
                # Short transactions: other processes keep writing between them.
                written = self._apply(conn, changes) and written
                changes = _empty_changes()
        if bulk or _indexes_missing(conn):
            written = self._apply(conn, changes) and written
            changes = _empty_changes()
            self._write(conn, lambda: _create_indexes(conn))
        if written:  # the scan is complete only if every batch was written: else the next refresh scans again
            changes.dir_sig = dir_sig
        self._apply(conn, changes)
        if len(new) >= WRITE_BATCH:
            # Statistics let SQLite pick the most selective index for combined filters.
            self._write(conn, lambda: conn.execute("ANALYZE"))
        return bool(bulk)

    def _read_into(self, changes: _Changes, run_id: str) -> None:
        found = _read_row(self._runs_dir_str, run_id)
        if isinstance(found, _Row):
            changes.upserts.append(found)
        elif found is None:
            changes.removed.add(run_id)
        else:
            changes.skipped[run_id] = found

    def _check_running(self, conn: sqlite3.Connection, changes: _Changes) -> None:
        rows = self._batch(conn, "SELECT run_id, sig, writers, status FROM runs WHERE disk_status = 'running' "
                                 "AND run_id > ? ORDER BY run_id LIMIT ?", "_running_after", RUNNING_BATCH)
        for run_id, sig, writers, status in rows:
            if not _same(sig, _metadata_signature(self._runs_dir_str, run_id)):
                self._read_into(changes, run_id)
                continue
            if status == runformat.INTERRUPTED:
                continue  # dead writers stay dead (pid reuse is told apart by the start time)
            alive = run_is_alive(json.loads(writers) if writers else {})
            effective = runformat.RUNNING if alive else runformat.INTERRUPTED
            if effective != status:
                changes.statuses[run_id] = effective

    def _check_skipped(self, conn: sqlite3.Connection, changes: _Changes) -> None:
        rows = self._batch(conn, "SELECT run_id, sig FROM skipped WHERE run_id > ? ORDER BY run_id LIMIT ?",
                           "_skipped_after", SKIPPED_BATCH)
        for run_id, sig in rows:
            folder = f"{self._runs_dir_str}/{run_id}"
            current = _metadata_signature(self._runs_dir_str, run_id) or _folder_signature(folder)
            if not _same(sig, current):
                self._read_into(changes, run_id)

    def _batch(self, conn: sqlite3.Connection, sql: str, position: str, size: int) -> list[Any]:
        """The next ``size`` rows after this process's round-robin position, wrapping around at the end."""
        after = getattr(self, position)
        rows = conn.execute(sql, (after, size)).fetchall()
        if len(rows) < size and after:
            rows += [row for row in conn.execute(sql, ("", size - len(rows))).fetchall() if row[0] <= after]
            setattr(self, position, "")
        elif len(rows) == size:
            setattr(self, position, rows[-1][0])
        return rows

    def _sweep(self, conn: sqlite3.Connection, changes: _Changes) -> None:
        """Check a few finished runs' signatures per refresh, for changes made outside any recorder."""
        rows = conn.execute("SELECT rowid, run_id, sig FROM runs WHERE rowid > ? AND disk_status != 'running' "
                            "ORDER BY rowid LIMIT ?", (self._sweep_after, SWEEP_BATCH)).fetchall()
        self._sweep_after = rows[-1][0] if len(rows) == SWEEP_BATCH else 0
        for _, run_id, sig in rows:
            if not _same(sig, _metadata_signature(self._runs_dir_str, run_id)):
                self._read_into(changes, run_id)

    def _apply(self, conn: sqlite3.Connection, changes: _Changes) -> bool:
        """Write what a refresh found; False if it could not be written now."""
        if not changes:
            return True

        def write() -> None:
            if changes.removed:
                gone = [(run_id,) for run_id in changes.removed]
                conn.executemany("DELETE FROM runs WHERE run_id = ?", gone)
                conn.executemany("DELETE FROM skipped WHERE run_id = ?", gone)
            if changes.skipped:
                conn.executemany("DELETE FROM runs WHERE run_id = ?", [(r,) for r in changes.skipped])
                conn.executemany("INSERT OR REPLACE INTO skipped VALUES (?, ?)", changes.skipped.items())
            if changes.upserts:
                conn.executemany("DELETE FROM skipped WHERE run_id = ?", [(row.run_id,) for row in changes.upserts])
                conn.executemany(
                    "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id) DO UPDATE SET "
                    "ts_us = excluded.ts_us, config_name = excluded.config_name, user_id = excluded.user_id, "
                    "status = excluded.status, disk_status = excluded.disk_status, writers = excluded.writers, "
                    "sig = excluded.sig, summary = excluded.summary",
                    [row.values() for row in changes.upserts],
                )
            if changes.statuses:
                conn.executemany("UPDATE runs SET status = ? WHERE run_id = ?",
                                 [(status, run_id) for run_id, status in changes.statuses.items()])
            if changes.dir_sig is not None:
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('dir_sig', ?)", (changes.dir_sig,))

        return self._write(conn, write)

    def _write(self, conn: sqlite3.Connection, body: Any) -> bool:
        """Run ``body`` in one write transaction. If the database stays busy or the disk is full, answer from the
        index as it is and leave the update to a later refresh, which then rescans (the events are spent)."""
        try:
            conn.execute("BEGIN IMMEDIATE")
            body()
            conn.execute("COMMIT")
            return True
        except sqlite3.OperationalError as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if _code(exc) not in _SKIPPABLE_CODES:
                raise
            log.warning("run index %s cannot be updated now (%s); answering from it as it is", self.db_path, exc)
            self._watch_synced = False
            return False
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @staticmethod
    def _meta(conn: sqlite3.Connection, key: str) -> str | None:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    # -- listing ------------------------------------------------------------------------------------------------

    def query(
        self,
        *,
        config_name: str | None = None,
        user_id: str | None = None,
        status: str | None = None,
        since: str | datetime | None = None,
        until: str | datetime | None = None,
        cursor: str | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Runs newest first (by ``timestamp``, then run id), filtered, one page at a time.

        ``since`` <= timestamp < ``until`` (ISO 8601). Returns ``(summaries, next_cursor)``; ``next_cursor`` is
        None on the last page. Pages stay stable when new runs are added: a cursor names a position, not an offset.
        Raises ValidationError for a bad filter, cursor or limit (1 to 200).
        """
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("config_name", _text_filter("config_name", config_name)),
                              ("user_id", _text_filter("user_id", user_id)),
                              ("status", _status_filter(status))):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        since_us, until_us = _time_bound("since", since), _time_bound("until", until)
        if since_us is not None:
            where.append("ts_us >= ?")
            params.append(since_us)
        if until_us is not None:
            where.append("ts_us < ?")
            params.append(until_us)
        if cursor is not None:
            where.append("(ts_us, run_id) < (?, ?)")
            params.extend(decode_cursor(cursor))
        page = _limit(limit)
        sql = "SELECT ts_us, run_id, status, summary FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY ts_us DESC, run_id DESC LIMIT ?"
        params.append(page + 1)
        if not self.runs_dir.is_dir():
            return [], None  # no store yet: create nothing for a listing

        def fetch(conn: sqlite3.Connection) -> list[Any]:
            self._refresh(conn)
            return conn.execute(sql, params).fetchall()

        rows = self._use(fetch)
        summaries = []
        for _, _, row_status, summary in rows[:page]:
            item: dict[str, Any] = json.loads(summary)
            item["status"] = row_status
            summaries.append(item)
        next_cursor = encode_cursor(rows[page - 1][0], rows[page - 1][1]) if len(rows) > page else None
        return summaries, next_cursor

    def count(self) -> int:
        """How many runs the index lists (after a refresh)."""
        if not self.runs_dir.is_dir():
            return 0

        def count(conn: sqlite3.Connection) -> int:
            self._refresh(conn)
            return int(conn.execute("SELECT count(*) FROM runs").fetchone()[0])

        return self._use(count)


def iter_all(index: RunIndex, **filters: Any) -> Iterable[dict[str, Any]]:
    """Every run matching ``filters``, newest first, page by page (for tools that want the whole list)."""
    cursor: str | None = None
    while True:
        page, cursor = index.query(cursor=cursor, limit=MAX_LIMIT, **filters)
        yield from page
        if cursor is None:
            return


def remove_index(store: RunStore) -> None:
    """Delete the default index of a store (it is rebuilt from the folders on next use)."""
    shutil.rmtree(store.runs_dir / INDEX_DIRNAME, ignore_errors=True)


__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "RunIndex", "decode_cursor", "encode_cursor", "iter_all", "remove_index"]
