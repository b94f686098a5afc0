"""Checking runs against the format: what ``pipeline-recorder verify`` reports, for any store.

A run is clean when its ``metadata.json`` parses and follows the format, every listed entity exists as a regular
file with the listed size and sha256, no other file sits in the folder besides helper files starting with '.', and
no temp file (``.tmp-*``) was abandoned (its run's writers are gone, or it was not written to for an hour). The
store is clean when every run is and no operation or run creation left a half-done folder behind (see
:mod:`pipeline_recorder.ops.leftovers`).

The folder listing and metadata.json are read under the run lock, so a live writer is never caught between
renaming an entity into place and listing it; hashing happens outside the lock (listed entities never change).

A store without local folders (the shared store) is checked through the Store interface alone
(``verify_stored.py``); temp files and half-done folders exist only in folder stores, upload objects abandoned by
killed writers (``.staging-*``) only in the shared store. The finding codes and the
check results: ``findings.py``.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..atomic import TEMP_PREFIX
from ..errors import EntityNotFoundError, RunNotFoundError
from ..locking import RunLock
from ..naming import METADATA_FILENAME, PROCESS_DIRNAME, parse_entity_filename
from ..runfields import stored_records
from ..stores.base import Store
from ..stores.folder import FolderStore
from ..stores.folder_files import open_run_file
from .findings import (
    ENTITY_HASH,
    ENTITY_MISSING,
    ENTITY_NOT_REGULAR,
    ENTITY_SIZE,
    FIXABLE,
    HASH_CHUNK,
    LEFTOVER,
    METADATA_CORRUPT,
    METADATA_FORMAT,
    METADATA_MISSING,
    TEMP_FILE,
    UNACKNOWLEDGED_PREFIX,
    UNEXPECTED_FILE,
    UNLISTED_ENTITY,
    UNREADABLE,
    Finding,
    RunCheck,
    StoreCheck,
    parse_document,
)
from .leftovers import Leftover, find_leftovers, is_live, stale_temp_files, store_uploads
from .verify_stored import check_stored_run

# The findings' names are verify's public names too (``from pipeline_recorder.ops.verify import Finding``).
__all__ = ["ENTITY_HASH", "ENTITY_MISSING", "ENTITY_NOT_REGULAR", "ENTITY_SIZE", "FIXABLE", "LEFTOVER",
           "METADATA_CORRUPT", "METADATA_FORMAT", "METADATA_MISSING", "TEMP_FILE", "UNACKNOWLEDGED_PREFIX",
           "UNEXPECTED_FILE", "UNLISTED_ENTITY", "UNREADABLE", "Finding", "RunCheck", "Snapshot", "StoreCheck",
           "check_run", "check_store", "check_stored_run", "file_digest", "leftover_findings", "parse_document",
           "read_snapshot", "read_snapshot_unlocked"]


@dataclass(frozen=True)
class Snapshot:
    """metadata.json's bytes (None if absent) and the folder's file names, read together."""

    metadata: bytes | None
    names: list[str]


def read_snapshot_unlocked(folder: Path) -> Snapshot:
    """The snapshot, for a caller that holds the run lock (or knows no writer can be busy)."""
    try:
        fd = os.open(folder / METADATA_FILENAME, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        data = None
    else:
        with os.fdopen(fd, "rb") as f:
            data = f.read()
    return Snapshot(data, sorted(os.listdir(folder)))


def read_snapshot(folder: Path) -> Snapshot:
    """metadata.json and the folder listing, read together under the run lock."""
    try:
        lock = RunLock(folder)
        try:
            with lock.held():
                return read_snapshot_unlocked(folder)
        finally:
            lock.close()
    except OSError as exc:
        # A read-only store (EROFS) or no write permission: no lock file can be opened for writing, and then no
        # writer can be at work either, so reading without the lock is safe.
        if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise
        return read_snapshot_unlocked(folder)


def file_digest(path: Path) -> tuple[int, str]:
    """(size, sha256) of an entity file, opened as the store opens it (never through a link, never blocking on a
    fifo, relative to its run folder opened once). EntityNotFoundError when it cannot be opened."""
    fd, _ = open_run_file(str(path.parent.parent), path.parent.name, path.name)
    digest = hashlib.sha256()
    size = 0
    with os.fdopen(fd, "rb") as f:
        while chunk := f.read(HASH_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _check_entity(run_id: str, folder: Path, entity: dict[str, Any]) -> Finding | None:
    filename = str(entity["filename"])
    path = folder / filename
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return Finding(run_id, ENTITY_MISSING, f"listed entity {filename} is missing", path)
    if not stat.S_ISREG(st.st_mode):
        return Finding(run_id, ENTITY_NOT_REGULAR, f"listed entity {filename} is not a regular file", path)
    try:
        size, sha = file_digest(path)
    except EntityNotFoundError as exc:
        return Finding(run_id, UNREADABLE, f"listed entity {filename} cannot be opened: {exc}", path)
    except OSError as exc:
        return Finding(run_id, UNREADABLE, f"listed entity {filename} cannot be read: {exc.strerror}", path)
    if size != entity["size"]:
        return Finding(run_id, ENTITY_SIZE, f"entity {filename} has {size} bytes on disk but {entity['size']} "
                       "are listed (truncated or changed; it cannot be repaired)", path)
    if sha != entity["sha256"]:
        return Finding(run_id, ENTITY_HASH, f"entity {filename} does not match its listed sha256 (its content "
                       "changed; it cannot be repaired)", path)
    return None


def check_run(store: Store, run_id: str) -> RunCheck:
    """Check one run. RunNotFoundError if there is no such run (folder)."""
    folder = store.local_folder(run_id)
    if folder is None:
        return check_stored_run(store, run_id)
    if not folder.is_dir() or folder.is_symlink():
        raise RunNotFoundError(f"run {run_id!r} not found in {store.location()}")
    snapshot = read_snapshot(folder)
    check = RunCheck(run_id)
    doc, problem = parse_document(snapshot.metadata, run_id)
    check.document, check.live = doc, is_live(doc)
    records = stored_records(doc) if doc is not None else []  # the entities and the prompting process's steps
    listed = {str(record["filename"]) for record in records}
    temps = [name for name in snapshot.names if name.startswith(TEMP_PREFIX)]
    others = [name for name in snapshot.names if not name.startswith(".") and name != METADATA_FILENAME]
    if problem is not None:
        entity_files = [name for name in others if parse_entity_filename(name) is not None]
        check.findings.append(Finding(run_id, problem.code, problem.message + (
            f"; --repair rebuilds it from the {len(entity_files)} entity files on disk"), folder / METADATA_FILENAME))
    process_linked = os.path.islink(folder / PROCESS_DIRNAME)
    for entity in records:
        if process_linked and str(entity["filename"]).startswith(f"{PROCESS_DIRNAME}/"):
            finding: Finding | None = Finding(
                run_id, ENTITY_NOT_REGULAR, f"listed step {entity['filename']} lies behind a link ({PROCESS_DIRNAME} "
                "is a link, not a folder): it is never served", folder / str(entity["filename"]))
        else:
            finding = _check_entity(run_id, folder, entity)
        if finding is not None:
            check.findings.append(finding)
    for name in others:
        if name == PROCESS_DIRNAME and not process_linked and (folder / name).is_dir():
            # The prompting process's folder: its listed steps are checked above; a step file it does not list was
            # never acknowledged (the writer died before listing it) and is reported, left in place.
            check.findings.extend(
                Finding(run_id, UNLISTED_ENTITY, f"step file {name}/{step} is not listed in metadata.json (its save "
                        "was never acknowledged: the writer died before listing it); it is left in place",
                        folder / name / step)
                for step in sorted(os.listdir(folder / name))
                if doc is not None and f"{name}/{step}" not in listed and not step.startswith("."))
            continue
        if name in listed or (doc is None and parse_entity_filename(name) is not None):
            continue
        if parse_entity_filename(name) is not None:
            check.findings.append(Finding(run_id, UNLISTED_ENTITY, f"entity file {name} is not listed in "
                                          "metadata.json (its save was never acknowledged: the writer died before "
                                          f"listing it); --repair keeps it as {UNACKNOWLEDGED_PREFIX}{name}",
                                          folder / name))
        else:
            check.findings.append(Finding(run_id, UNEXPECTED_FILE, f"file {name} is neither an entity nor a helper "
                                          "file; it is left in place", folder / name))
    stale = stale_temp_files(folder, temps, check.live)
    if len(temps) > len(stale):
        check.notes.append(f"{len(temps) - len(stale)} temp file(s) belong to the live writer and are not leftovers")
    why = "untouched for over an hour" if check.live else "of a writer that is gone"
    check.findings.extend(Finding(run_id, TEMP_FILE, f"leftover temp file {name} {why}", folder / name)
                          for name in stale)
    return check


def leftover_findings(leftovers: Iterable[Leftover]) -> list[Finding]:
    what = {"trash": "a run folder that gc was deleting when it stopped",
            "import": "an import that stopped before it finished",
            "create": "a new run whose creator stopped before it appeared",
            "upload": "an entity upload whose writer was killed before its save finished (untouched long enough "
                      "that no live writer can be using it)"}
    return [Finding(None, LEFTOVER, f"{leftover.name} is {what[leftover.kind]}", leftover.path)
            for leftover in leftovers]


def check_store(store: Store, run_ids: Iterable[str] | None = None, *, now: float | None = None) -> StoreCheck:
    """Check the given runs, or every run and the store's leftovers when ``run_ids`` is None (upload objects
    judged by their age at ``now``, default the store's clock)."""
    result = StoreCheck()
    if run_ids is None:
        # Half-done folders are the folder store's own; abandoned upload objects a store without folders'.
        found = find_leftovers(store.runs_dir) if isinstance(store, FolderStore) else []
        result.store_findings = leftover_findings([*found, *store_uploads(store, now=now)])
        run_ids = sorted(store.run_ids())
    for run_id in run_ids:
        try:
            result.runs.append(check_run(store, run_id))
        except RunNotFoundError:
            raise
        except OSError as exc:
            result.runs.append(RunCheck(run_id, [Finding(run_id, UNREADABLE, f"run folder cannot be read: "
                                                         f"{exc.strerror}", store.local_folder(run_id))]))
    return result
