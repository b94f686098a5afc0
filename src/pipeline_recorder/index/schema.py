"""The run index's SQLite file: its schema and version, and opening, reopening and rebuilding it.

The file is a cache of the run folders, so every way it can fail ends in rebuilding it, never in an error of a
listing: a corrupt file is deleted and made again, a file of another schema version is emptied and made again, and
a file that cannot be written (a read-only store) is replaced by an index in memory for this process.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

log = logging.getLogger(__name__)
_T = TypeVar("_T")

# 2: the ``writers`` column holds every recorded writer (``owner`` and ``writers``), not only the owner.
# 3: the research fields' columns (kind, session_id, device_id, tags) for the listing filters.
SCHEMA_VERSION = "3"
INDEX_DIRNAME = ".index"  # a helper folder: its WAL files then never touch the runs dir's mtime
INDEX_FILENAME = "runs.sqlite3"
SYNC_LOCK_FILENAME = "sync.lock"
BUSY_TIMEOUT_S = 5.0

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
    summary TEXT NOT NULL,
    -- the research fields (runfields.py): filters kind, session_id, device_id and tag (tags: a JSON array)
    kind TEXT NOT NULL,
    session_id TEXT,
    device_id TEXT,
    tags TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS skipped (run_id TEXT PRIMARY KEY, sig TEXT NOT NULL);
"""
# The listing indexes: dropped during a cold build and made again after it, which is 3-4x faster than keeping
# five B-trees sorted through 100,000 inserts in random order.
INDEXES = {
    "runs_order": "runs (ts_us, run_id)",
    "runs_config": "runs (config_name, ts_us, run_id)",
    "runs_user": "runs (user_id, ts_us, run_id)",
    "runs_status": "runs (status, ts_us, run_id)",
    "runs_running": "runs (run_id) WHERE disk_status = 'running'",
    # the research fields (record): a class's session or a device is listed without a scan
    "runs_kind": "runs (kind, ts_us, run_id)",
    "runs_session": "runs (session_id, ts_us, run_id) WHERE session_id IS NOT NULL",
    "runs_device": "runs (device_id, ts_us, run_id) WHERE device_id IS NOT NULL",
}
# SQLite's primary result codes (an error's extended code & 0xFF).
_CORRUPT_CODES = frozenset({11, 26})  # SQLITE_CORRUPT, SQLITE_NOTADB
_READONLY = 8  # SQLITE_READONLY: the file or its folder cannot be written (read-only store)
_SKIPPABLE_CODES = frozenset({5, 6, 10, 13})  # SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR, SQLITE_FULL


def _code(exc: sqlite3.Error) -> int:
    return int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


def create_indexes(conn: sqlite3.Connection) -> None:
    """Make the listing indexes that are missing."""
    for name, definition in INDEXES.items():
        conn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")


def indexes_missing(conn: sqlite3.Connection) -> bool:
    """Whether any listing index is missing (a cold build that stopped halfway drops them)."""
    found = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN "
                         f"({', '.join('?' * len(INDEXES))})", tuple(INDEXES)).fetchone()[0]
    return int(found) < len(INDEXES)


class IndexDatabase:
    """The connection to one index file, serialised between threads, and its recovery from every failure.

    Subclasses fill the tables; ``close`` is where they drop state tied to the connection (it is called whenever
    the connection is dropped, so a replaced or rebuilt file is never taken for the old one).
    """

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self._mutex = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._db_ino: int | None = None
        self._in_memory = False
        self._pid = os.getpid()

    def close(self) -> None:
        """Close the database connection (a later call reopens it)."""
        with self._mutex:
            if self._conn is not None:
                self._conn.close()
            self._conn = None

    def _connection(self) -> sqlite3.Connection:
        """The open connection; reopened when the file was deleted or replaced by another process."""
        if self._pid != os.getpid():
            # A forked child must not share the parent's SQLite connection: it opens its own.
            self._conn, self._pid = None, os.getpid()
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
            if indexes_missing(conn):  # a cold build stopped halfway (it drops them while it inserts)
                self._write(conn, lambda: create_indexes(conn))
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
                create_indexes(conn)
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

    def _write(self, conn: sqlite3.Connection, body: Callable[[], object]) -> bool:
        """Run ``body`` in one write transaction. If the database stays busy or the disk is full, answer from the
        index as it is and leave the update to a later refresh (False)."""
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
            return False
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @staticmethod
    def _meta(conn: sqlite3.Connection, key: str) -> str | None:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])


__all__ = ["INDEXES", "INDEX_DIRNAME", "INDEX_FILENAME", "SCHEMA_VERSION", "IndexDatabase", "create_indexes",
           "indexes_missing"]
