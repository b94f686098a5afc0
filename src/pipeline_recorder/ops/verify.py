"""Checking runs against the format: what ``pipeline-recorder verify`` reports, for any store.

A run is clean when its ``metadata.json`` parses and follows the format, every listed entity exists as a regular
file with the listed size and sha256, no other file sits in the folder besides helper files starting with '.', and
no temp file (``.tmp-*``) was abandoned (its run's writers are gone, or it was not written to for an hour). The
store is clean when every run is and no operation or run creation left a half-done folder behind (see
:mod:`pipeline_recorder.ops.leftovers`).

The folder listing and metadata.json are read under the run lock, so a live writer is never caught between
renaming an entity into place and listing it; hashing happens outside the lock (listed entities never change).

A store without local folders (the shared store) is checked through the Store interface alone: the document and
the stored objects are read together inside the run's transaction (nothing is written), every listed entity is
read back through ``open_entity`` and hashed. Temp files and half-done folders exist only in folder stores; an
object named like an entity that no document lists is, there, what a writer killed before its commit left, and
the next entity of that sequence replaces it: a note, not a problem.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import runformat
from ..atomic import TEMP_PREFIX
from ..errors import CorruptRunError, EntityNotFoundError, RunNotFoundError
from ..locking import RunLock
from ..naming import METADATA_FILENAME, PROCESS_DIRNAME, parse_entity_filename
from ..runfields import stored_records
from ..stores.base import Store
from ..stores.folder import FolderStore
from ..stores.folder_files import open_run_file
from ..validation import unencodable
from .leftovers import Leftover, find_leftovers, is_live, stale_temp_files

HASH_CHUNK = 1024 * 1024

# Finding codes. Fixable ones are what `verify --repair` mends; the others it reports and leaves alone.
METADATA_MISSING = "metadata_missing"
METADATA_CORRUPT = "metadata_corrupt"
METADATA_FORMAT = "metadata_format"
TEMP_FILE = "temp_file"
LEFTOVER = "leftover"
ENTITY_MISSING = "entity_missing"
ENTITY_NOT_REGULAR = "entity_not_regular"
ENTITY_SIZE = "entity_size"
ENTITY_HASH = "entity_hash"
UNLISTED_ENTITY = "unlisted_entity"
UNEXPECTED_FILE = "unexpected_file"
UNREADABLE = "unreadable"
FIXABLE = frozenset({METADATA_MISSING, METADATA_CORRUPT, METADATA_FORMAT, TEMP_FILE, LEFTOVER, UNLISTED_ENTITY})

# An entity file that no metadata.json lists is the file of a save that was never acknowledged: its writer died
# between renaming the file into place and listing it (the lock rules out a writer still at work). Repair moves it
# aside under this prefix: a helper file, so the run verifies clean, with every byte kept.
UNACKNOWLEDGED_PREFIX = ".unacknowledged-"


@dataclass(frozen=True)
class Finding:
    """One thing wrong with a run (``run_id``) or with the store (``run_id`` None)."""

    run_id: str | None
    code: str
    message: str
    path: Path | None = None

    @property
    def fixable(self) -> bool:
        return self.code in FIXABLE

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "code": self.code, "message": self.message, "fixable": self.fixable,
                "path": str(self.path) if self.path is not None else None}


@dataclass
class RunCheck:
    """What verify found in one run folder. ``document`` is the parsed metadata.json when it follows the format."""

    run_id: str
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    document: dict[str, Any] | None = None
    live: bool = False

    @property
    def clean(self) -> bool:
        return not self.findings


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


def parse_document(data: bytes | None, folder_name: str) -> tuple[dict[str, Any] | None, Finding | None]:
    """The document if metadata.json follows the format, else the finding that says why not."""
    run_id = folder_name
    if data is None:
        return None, Finding(run_id, METADATA_MISSING, "metadata.json is missing")
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        return None, Finding(run_id, METADATA_CORRUPT, f"metadata.json is not valid JSON ({exc})")
    except RecursionError:
        return None, Finding(run_id, METADATA_CORRUPT, "metadata.json is nested too deeply to be read")
    found = runformat.problems(doc, folder_name)
    problem = unencodable(doc) if not found else None
    if problem is not None:
        found = [f"it holds text that is not valid Unicode: {problem}"]
    if found:
        return None, Finding(run_id, METADATA_FORMAT,
                             "metadata.json does not follow the format: " + "; ".join(found[:5]))
    assert isinstance(doc, dict)
    return doc, None


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


def check_stored_run(store: Store, run_id: str) -> RunCheck:
    """Check one run of a store without local folders, through the Store interface. RunNotFoundError."""
    if not store.run_exists(run_id):
        raise RunNotFoundError(f"run {run_id!r} not found in {store.location()}")
    check = RunCheck(run_id)
    writer = store.writer(run_id)
    try:
        # Inside the run's transaction, as the folder check reads under the run lock: no writer is between placing
        # an entity and listing it. The block commits nothing (no replace_document).
        with writer.transaction() as txn:
            assert txn.document is not None
            data = txn.document.to_bytes()
            stored = {item.name: item.size for item in store.stored_files(run_id)}
    except CorruptRunError as exc:
        check.findings.append(Finding(run_id, METADATA_CORRUPT, f"the run's document cannot be read: {exc}"))
        return check
    finally:
        writer.close()
    doc, problem = parse_document(data, run_id)
    check.document, check.live = doc, doc is not None and store.is_live(run_id, doc)
    if problem is not None:
        check.findings.append(problem)
        return check
    assert doc is not None
    records = stored_records(doc)  # the entities and the prompting process's steps
    for entity in records:
        finding = _check_stored_entity(store, run_id, entity, stored)
        if finding is not None:
            check.findings.append(finding)
    listed = {str(entity["filename"]) for entity in records}
    orphans = sorted(set(stored) - listed)
    if orphans:
        check.notes.append(f"{len(orphans)} object(s) named like entities are listed by no document "
                           f"({', '.join(orphans[:5])}): saves never acknowledged (their writer was killed before "
                           "its commit); the next entity of that sequence and type replaces each")
    return check


def _check_stored_entity(store: Store, run_id: str, entity: dict[str, Any], stored: dict[str, int]) -> Finding | None:
    filename = str(entity["filename"])
    if filename not in stored:
        return Finding(run_id, ENTITY_MISSING, f"listed entity {filename} is missing from {store.location(run_id)}")
    if stored[filename] != entity["size"]:
        return Finding(run_id, ENTITY_SIZE, f"entity {filename} has {stored[filename]} bytes in the store but "
                       f"{entity['size']} are listed (truncated or changed; it cannot be repaired)")
    digest = hashlib.sha256()
    try:
        opened = store.open_entity(run_id, entity)
        with opened.file as f:
            while chunk := f.read(HASH_CHUNK):
                digest.update(chunk)
    except EntityNotFoundError as exc:
        return Finding(run_id, UNREADABLE, f"listed entity {filename} cannot be opened: {exc}")
    if digest.hexdigest() != entity["sha256"]:
        return Finding(run_id, ENTITY_HASH, f"entity {filename} does not match its listed sha256 (its content "
                       "changed; it cannot be repaired)")
    return None


def leftover_findings(leftovers: Iterable[Leftover]) -> list[Finding]:
    what = {"trash": "a run folder that gc was deleting when it stopped",
            "import": "an import that stopped before it finished",
            "create": "a new run whose creator stopped before it appeared"}
    return [Finding(None, LEFTOVER, f"{leftover.name} is {what[leftover.kind]}", leftover.path)
            for leftover in leftovers]


@dataclass
class StoreCheck:
    """Checks of several runs plus store-level findings."""

    runs: list[RunCheck] = field(default_factory=list)
    store_findings: list[Finding] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return [*self.store_findings, *(f for run in self.runs for f in run.findings)]

    @property
    def clean(self) -> bool:
        return not self.findings


def check_store(store: Store, run_ids: Iterable[str] | None = None) -> StoreCheck:
    """Check the given runs, or every run and the store's leftovers when ``run_ids`` is None."""
    result = StoreCheck()
    if run_ids is None:
        if isinstance(store, FolderStore):  # half-done folders are the folder store's own
            result.store_findings = leftover_findings(find_leftovers(store.runs_dir))
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
