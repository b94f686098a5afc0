"""Keeping the run index in step with the run folders, without reading 100,000 folders per request.

Every listing first runs a cheap ``refresh`` (figures and bounds: docs/PERFORMANCE.md, Listing):

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

Folder scans are serialised between processes by a lock file, so a cold rebuild is done once.
"""

from __future__ import annotations

import errno
import gc
import json
import logging
import os
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import runformat
from ..document.version import same_text as same
from ..document.version import signature_text as signature
from ..naming import RUN_ID_PATTERN
from ..stores.folder import FolderStore
from .inotify import DirWatch
from .schema import INDEX_DIRNAME, INDEX_FILENAME, INDEXES, IndexDatabase, create_indexes, indexes_missing
from .summaries import Row, folder_signature, metadata_signature, read_row

log = logging.getLogger(__name__)

RUNNING_BATCH = 512
SKIPPED_BATCH = 256
SWEEP_BATCH = 32
WRITE_BATCH = 2000
BULK_THRESHOLD = 10_000


_COLUMNS = ("run_id", "ts_us", "config_name", "user_id", "status", "disk_status", "writers", "sig", "summary",
            "kind", "session_id", "device_id", "tags")  # the order of Row.values()
UPSERT = (f"INSERT INTO runs ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
          "ON CONFLICT (run_id) DO UPDATE SET "
          + ", ".join(f"{column} = excluded.{column}" for column in _COLUMNS[1:]))

@dataclass
class _Changes:
    """What a refresh found, written to the database in one short transaction."""

    upserts: list[Row]
    skipped: dict[str, str]  # run_id -> signature of a folder present but not listable
    removed: set[str]  # no folder any more
    statuses: dict[str, str]  # run_id -> new effective status (liveness), file unchanged
    dir_sig: str | None = None  # the runs dir signature all of this brings the index up to

    def __bool__(self) -> bool:
        return bool(self.upserts or self.skipped or self.removed or self.statuses or self.dir_sig)


def _empty_changes() -> _Changes:
    return _Changes([], {}, set(), {})


class SyncedIndex(IndexDatabase):
    """An index database of the runs under ``store``, brought up to date with their folders by ``refresh``.

    ``db_path`` defaults to ``{store.runs_dir}/.index/runs.sqlite3`` (a helper folder, so never a run).
    """

    def __init__(self, store: FolderStore, db_path: Path | None = None, *, inotify: bool | None = None) -> None:
        """``inotify``: learn of new and vanished run folders from the kernel (default: on Linux), else from the
        runs folder's mtime."""
        self.store = store
        self.runs_dir = store.runs_dir
        self._runs_dir_str = str(store.runs_dir)
        super().__init__(db_path if db_path is not None else self.runs_dir / INDEX_DIRNAME / INDEX_FILENAME)
        self._watch: DirWatch | None = None
        # Else (or if inotify fails) the runs dir's mtime tells of changes.
        self._watching = sys.platform == "linux" if inotify is None else inotify
        self._watch_synced = False  # the index matched the folders when the watch began
        self._running_after = ""  # round-robin positions, per process
        self._skipped_after = ""
        self._sweep_after = 0

    def close(self) -> None:
        """Close the database connection and stop watching the runs dir (a later call reopens both)."""
        with self._mutex:
            super().close()
            # Events after a reopen may be of another file than the one they were to update: rescan then.
            if self._watch is not None:
                self._watch.close()
            self._watch, self._watch_synced = None, False

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
        if self._watch is not None and self._watch.pid != os.getpid():
            # A forked child must not share the parent's inotify queue: it starts its own.
            self._watch, self._watch_synced = None, False
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
        elif not same(self._meta(conn, "dir_sig") or "racy:", dir_sig):
            with self._sync_lock():
                # Another process may have scanned while we waited for the lock.
                if not same(self._meta(conn, "dir_sig") or "racy:", dir_sig) and self._scan(conn, dir_sig):
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
                self._watch = DirWatch(self._runs_dir_str)
            except OSError as exc:
                if exc.errno != errno.ENOENT:
                    log.info("run index: cannot watch %s (%s); using its mtime instead", self.runs_dir, exc)
                    self._watching = False

    def _dir_signature(self) -> str:
        try:
            st = os.stat(self.runs_dir)
        except OSError:
            return "racy:missing"  # a missing runs dir is scanned (cheaply) every time
        return signature(st)

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
            self._write(conn, lambda: [conn.execute(f"DROP INDEX IF EXISTS {name}") for name in INDEXES])
        changes = _empty_changes()
        changes.removed = known
        written = True
        for _, run_id in new:
            self._read_into(changes, run_id)
            if len(changes.upserts) + len(changes.skipped) >= WRITE_BATCH:
                # Short transactions: other processes keep writing between them.
                written = self._apply(conn, changes) and written
                changes = _empty_changes()
        if bulk or indexes_missing(conn):
            written = self._apply(conn, changes) and written
            changes = _empty_changes()
            self._write(conn, lambda: create_indexes(conn))
        if written:  # the scan is complete only if every batch was written: else the next refresh scans again
            changes.dir_sig = dir_sig
        self._apply(conn, changes)
        if len(new) >= WRITE_BATCH:
            # Statistics let SQLite pick the most selective index for combined filters.
            self._write(conn, lambda: conn.execute("ANALYZE"))
        return bool(bulk)

    def _read_into(self, changes: _Changes, run_id: str) -> None:
        found = read_row(self._runs_dir_str, run_id, self.store.is_live)
        if isinstance(found, Row):
            changes.upserts.append(found)
        elif found is None:
            changes.removed.add(run_id)
        else:
            changes.skipped[run_id] = found

    def _check_running(self, conn: sqlite3.Connection, changes: _Changes) -> None:
        rows = self._batch(conn, "SELECT run_id, sig, writers, status FROM runs WHERE disk_status = 'running' "
                                 "AND run_id > ? ORDER BY run_id LIMIT ?", "_running_after", RUNNING_BATCH)
        for run_id, sig, writers, status in rows:
            if not same(sig, metadata_signature(self._runs_dir_str, run_id)):
                self._read_into(changes, run_id)
                continue
            if status == runformat.INTERRUPTED and not self.store.leases(run_id):
                continue  # dead writer processes stay dead (pid reuse is told apart by the start time); leases
                # may be renewed by a holder that comes back
            alive = self.store.is_live(run_id, json.loads(writers) if writers else {})
            effective = runformat.RUNNING if alive else runformat.INTERRUPTED
            if effective != status:
                changes.statuses[run_id] = effective

    def _check_skipped(self, conn: sqlite3.Connection, changes: _Changes) -> None:
        rows = self._batch(conn, "SELECT run_id, sig FROM skipped WHERE run_id > ? ORDER BY run_id LIMIT ?",
                           "_skipped_after", SKIPPED_BATCH)
        for run_id, sig in rows:
            folder = f"{self._runs_dir_str}/{run_id}"
            current = metadata_signature(self._runs_dir_str, run_id) or folder_signature(folder)
            if not same(sig, current):
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
            if not same(sig, metadata_signature(self._runs_dir_str, run_id)):
                self._read_into(changes, run_id)

    def skipped(self) -> list[str]:
        """Ids of the run folders present that the listing leaves out, because they cannot be read as runs
        (unreadable, not of the format, a string that is not valid Unicode): each is that run's problem, shown
        by ``pipeline-recorder verify``."""
        if not self.runs_dir.is_dir():
            return []

        def fetch(conn: sqlite3.Connection) -> list[str]:
            self._refresh(conn)
            return [row[0] for row in conn.execute("SELECT run_id FROM skipped ORDER BY run_id")]

        return self._use(fetch)

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
                try:
                    conn.executemany(UPSERT, [row.values() for row in changes.upserts])
                except (sqlite3.InterfaceError, sqlite3.DataError, UnicodeError, OverflowError):
                    # One row the database refuses must not lose the batch: write them one by one, and list the
                    # refused ones as skipped (what the listing reports), not as runs.
                    for row in changes.upserts:
                        try:
                            conn.execute(UPSERT, row.values())
                        except (sqlite3.InterfaceError, sqlite3.DataError, UnicodeError, OverflowError) as exc:
                            log.warning("run index: skipping %s: its summary cannot be stored (%s)", row.run_id, exc)
                            conn.execute("INSERT OR REPLACE INTO skipped VALUES (?, ?)", (row.run_id, row.sig))
            if changes.statuses:
                conn.executemany("UPDATE runs SET status = ? WHERE run_id = ?",
                                 [(status, run_id) for run_id, status in changes.statuses.items()])
            if changes.dir_sig is not None:
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('dir_sig', ?)", (changes.dir_sig,))

        return self._write(conn, write)

    def _write(self, conn: sqlite3.Connection, body: Callable[[], object]) -> bool:
        written = super()._write(conn, body)
        if not written:
            self._watch_synced = False  # the events of this refresh are spent: the next one rescans
        return written
