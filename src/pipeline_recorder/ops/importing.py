"""Import an export archive (see ``archive.py`` for its layout) into a store, safely.

Import refuses, before writing anything, archives with an unsafe member (absolute path, ``..``, backslash, a link,
a device or fifo, a name that is neither the manifest nor a run file), members missing from the manifest or the
other way round or declaring another size than it lists, a run whose metadata.json does not follow the format (or
is nested too deeply, or holds a string that is not valid Unicode) or does not list exactly the run's files with
the manifest's sizes and hashes, more than MAX_IMPORT_BYTES in all or more than the free space, and runs that
already exist. Then the runs are placed: into a folder store by ``import_folder.py`` (staged, checked while copied,
renamed into place), into other stores through the Store interface by ``import_store.py``. A refused import leaves
the store as it was. Reading the archive and checking its member names: ``archive_reader.py``."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from ..document import parse_metadata
from ..errors import ArchiveRefusedError, CorruptRunError
from ..naming import METADATA_FILENAME
from ..runfields import stored_records
from ..stores.base import Store
from ..stores.folder import FolderStore
from .archive import EXPORT_FORMAT, EXPORT_VERSION, MANIFEST_NAME
from .archive_reader import MAX_DOCUMENT_BYTES, ArchiveReader, Scan, check_member
from .import_folder import place_folder_runs
from .import_store import place_runs

__all__ = ["FREE_SPACE_RESERVE", "MAX_DOCUMENT_BYTES", "MAX_IMPORT_BYTES", "check_member", "import_archive"]

# One import's total; the free space an import leaves.
MAX_IMPORT_BYTES = 64 * 1024**3
FREE_SPACE_RESERVE = 64 * 1024 * 1024


def _loads(data: bytes, what: str) -> Any:
    """JSON from an archive document; ArchiveRefusedError for anything unusable (bad JSON, deep nesting, size)."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ArchiveRefusedError(f"{what} is larger than {MAX_DOCUMENT_BYTES} bytes; nothing was imported")
    try:
        return json.loads(data)
    except RecursionError:
        raise ArchiveRefusedError(f"{what} is nested too deeply to be read; nothing was imported") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ArchiveRefusedError(f"{what} is not valid JSON ({exc}); nothing was imported") from None


def _parse_manifest(scan: Scan, path: Path, names: set[str]) -> dict[str, tuple[int, str]]:
    """The manifest's files as {path: (size, sha256)}, checked to list exactly the archive's files, each with the
    size the archive declares for it."""
    if MANIFEST_NAME not in names:
        raise ArchiveRefusedError(f"{path} has no {MANIFEST_NAME}; it is not a pipeline-recorder export")
    manifest = _loads(scan.documents.get(MANIFEST_NAME, b""), f"{MANIFEST_NAME} in {path}")
    try:
        if manifest.get("format") != EXPORT_FORMAT or manifest.get("version") != EXPORT_VERSION:
            raise ValueError(f"it is not format {EXPORT_FORMAT!r} version {EXPORT_VERSION}")
        listed: dict[str, tuple[int, str]] = {}
        for entry in manifest["files"]:
            entry_path, size, sha = entry["path"], entry["size"], entry["sha256"]
            if not (isinstance(entry_path, str) and type(size) is int and size >= 0 and isinstance(sha, str)):
                raise ValueError(f"entry {ascii(entry)[:120]} needs a path, a size and a sha256")
            listed[entry_path] = (size, sha)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ArchiveRefusedError(f"{MANIFEST_NAME} in {path} is unusable: {exc}; nothing was imported") from None
    members = names - {MANIFEST_NAME}
    for name in sorted(members - set(listed))[:1]:
        raise ArchiveRefusedError(f"archive member {name!r} is not in the manifest; nothing was imported")
    for name in sorted(set(listed) - members)[:1]:
        raise ArchiveRefusedError(f"the manifest lists {ascii(name)[:200]}, which the archive lacks; "
                                  "nothing was imported")
    for member in scan.members:
        if member.kind == "file" and member.name in listed and member.size != listed[member.name][0]:
            raise ArchiveRefusedError(f"archive member {member.name!r} declares {member.size} bytes but the "
                                      f"manifest lists {listed[member.name][0]} (tampered or damaged); "
                                      "nothing was imported")
    return listed


def _check_metadata(scan: Scan, run_id: str, files: set[str], listed: dict[str, tuple[int, str]]) -> None:
    """A run's metadata.json, before anything is written: it is what the manifest lists, follows the format (no
    deep nesting, no string that is not valid Unicode), names this run, and lists exactly the run's other files,
    each with the size and sha256 the manifest gives it (which the copy then checks)."""
    name = f"{run_id}/{METADATA_FILENAME}"
    data = scan.documents[name]
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ArchiveRefusedError(f"{name} is larger than {MAX_DOCUMENT_BYTES} bytes; nothing was imported")
    if (len(data), hashlib.sha256(data).hexdigest()) != listed[name]:
        raise ArchiveRefusedError(f"{name} does not match the size and sha256 in the manifest (tampered or "
                                  "damaged); nothing was imported")
    try:
        doc = parse_metadata(data, Path(name))
    except CorruptRunError as exc:
        raise ArchiveRefusedError(f"{exc}; nothing was imported") from None
    if doc["run_id"] != run_id:
        raise ArchiveRefusedError(f"{name} names run {doc['run_id']!r}; nothing was imported")
    entities = {str(entity["filename"]): entity for entity in stored_records(doc)}
    for filename in sorted(files - set(entities) - {METADATA_FILENAME})[:1]:
        raise ArchiveRefusedError(f"{run_id}/{filename} is not listed in the run's metadata.json; nothing was imported")
    for filename, entity in entities.items():
        if filename not in files:
            raise ArchiveRefusedError(f"{run_id}/{filename} is listed in the run's metadata.json but missing "
                                      "from the archive; nothing was imported")
        if (entity["size"], entity["sha256"]) != listed[f"{run_id}/{filename}"]:
            raise ArchiveRefusedError(f"{run_id}/{filename} does not match its run's metadata.json; "
                                      "nothing was imported")


def _check_room(store: Store, total: int, max_total: int) -> None:
    """Refuse an import larger than ``max_total`` or than the free space of a folder store's file system allows."""
    if total > max_total:
        raise ArchiveRefusedError(f"the archive holds {total} bytes, more than the {max_total} an import may "
                                  "unpack; nothing was imported")
    if not isinstance(store, FolderStore):
        return  # an object store reports a full bucket itself, as a StorageError
    probe = store.runs_dir
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if total + FREE_SPACE_RESERVE > free:
        raise ArchiveRefusedError(f"the archive needs {total} bytes and {probe} has {free} free (keeping "
                                  f"{FREE_SPACE_RESERVE} spare); free some space or import into another "
                                  "--base-path; nothing was imported")


def import_archive(store: Store, path: Path, *, max_total: int | None = None) -> list[str]:
    """Import the runs of an export archive into ``store``; returns their ids. Everything that can be checked
    without writing is checked first (member names and kinds, the manifest, the declared sizes, every run's
    metadata.json, the total against ``max_total`` (default MAX_IMPORT_BYTES), the free space); then the files are
    copied (into a staging folder), each checked against its size and sha256. ArchiveRefusedError (unsafe,
    incomplete, tampered, too large) or RunExistsError: then nothing was written to the store."""
    reader = ArchiveReader(path)
    scan = reader.scan()
    names: set[str] = set()
    for member in scan.members:
        check_member(member.name, member.kind)
        if member.kind == "file":
            if member.name in names:
                raise ArchiveRefusedError(f"archive member {member.name!r} appears twice; nothing was imported")
            names.add(member.name)
    listed = _parse_manifest(scan, path, names)
    by_run: dict[str, set[str]] = {}
    for name in names - {MANIFEST_NAME}:
        run_id, filename = name.split("/", 1)
        by_run.setdefault(run_id, set()).add(filename)
    if not by_run:
        raise ArchiveRefusedError(f"{path} holds no runs; nothing was imported")
    for run_id, files in sorted(by_run.items()):
        if METADATA_FILENAME not in files:
            raise ArchiveRefusedError(f"run {run_id} in the archive has no metadata.json; nothing was imported")
        _check_metadata(scan, run_id, files, listed)
    _check_room(store, sum(size for size, _ in listed.values()),
                MAX_IMPORT_BYTES if max_total is None else max_total)
    if not isinstance(store, FolderStore):
        with reader.files() as files_iter:
            place_runs(store, by_run, scan.documents, listed, files_iter)
        return sorted(by_run)
    place_folder_runs(store, reader, by_run, listed)
    return sorted(by_run)
