"""Import an export archive (see ``archive.py`` for its layout) into a store, safely.

Import refuses, before writing anything, archives with an unsafe member (absolute path, ``..``, backslash, a link,
a device or fifo, a name that is neither the manifest nor a run file), members missing from the manifest or the
other way round or declaring another size than it lists, a run whose metadata.json does not follow the format (or
is nested too deeply, or holds a string that is not valid Unicode) or does not list exactly the run's files with
the manifest's sizes and hashes, more than MAX_IMPORT_BYTES in all or more than the free space, and runs that
already exist. Into a folder store it extracts into a locked staging folder inside the store, checks every size
and sha256 while copying, and then renames the runs into place (never over an existing folder); other stores are
filled through the Store interface (``import_store.py``). A refused import leaves the store as it was."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import shutil
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from ..atomic import CHUNK, fsync_dir
from ..atomic import rename_noreplace as _rename_noreplace
from ..document import parse_metadata
from ..errors import ArchiveRefusedError, CorruptRunError, RunExistsError
from ..naming import METADATA_FILENAME, PROCESS_DIRNAME, RUN_ID_PATTERN, parse_stored_filename
from ..runfields import stored_records
from ..stores.base import Store
from ..stores.folder import FolderStore
from .archive import EXPORT_FORMAT, EXPORT_VERSION, MANIFEST_NAME
from .import_store import place_runs
from .leftovers import staging_folder

# What a manifest or metadata.json may hold (read to be checked first); one import's total; free space kept.
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
MAX_IMPORT_BYTES = 64 * 1024**3
FREE_SPACE_RESERVE = 64 * 1024 * 1024


@dataclass(frozen=True)
class _Member:
    name: str
    kind: str  # file, dir, link, special
    size: int  # as the archive declares it


@dataclass
class _Scan:
    """What one pass over an archive tells before anything is written: every member's name, kind and declared size,
    and the bytes of the manifest and of each run's metadata.json (at most MAX_DOCUMENT_BYTES + 1 of each)."""

    members: list[_Member] = field(default_factory=list)
    documents: dict[str, bytes] = field(default_factory=dict)


def _is_document(name: str) -> bool:
    return name == MANIFEST_NAME or name.endswith("/" + METADATA_FILENAME)


# What reading a damaged, hostile or unsupported archive raises: a bad CRC, gzip or deflate stream, a truncated
# file, an encrypted member, an unknown compression method. (Other OSErrors while extracting are the disk's.)
_UNREADABLE = (zipfile.BadZipFile, zipfile.LargeZipFile, tarfile.TarError, gzip.BadGzipFile, zlib.error, EOFError,
               RuntimeError, NotImplementedError)


def _unsafe_reason(name: str) -> str | None:
    if not name or "\0" in name:
        return "an empty name or a NUL byte"
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "an absolute path"
    if "\\" in name:
        return "a backslash"
    parts = name.rstrip("/").split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "a '..', '.' or empty path part"
    return None


def check_member(name: str, kind: str) -> None:
    """ArchiveRefusedError unless a member of this name and kind (file, dir, link, special) may be imported: a safe
    relative name, a file or folder, and one of the export's names (which bounds its length too)."""
    reason = _unsafe_reason(name)
    if reason is None and kind == "link":
        reason = "a link"
    if reason is None and kind == "special":
        reason = "a device, fifo or other special file"
    if reason is None:
        parts = name.rstrip("/").split("/")
        if kind == "dir":
            ok = RUN_ID_PATTERN.fullmatch(parts[0]) is not None and (
                len(parts) == 1 or (len(parts) == 2 and parts[1] == PROCESS_DIRNAME))
        elif len(parts) == 1:
            ok = parts[0] == MANIFEST_NAME
        else:
            ok = ((RUN_ID_PATTERN.fullmatch(parts[0]) is not None
                  and parse_stored_filename("/".join(parts[1:])) is not None)
                  or (len(parts) == 2 and parts[1] == METADATA_FILENAME))
        if not ok:
            reason = ("a name that is neither manifest.json nor {run_id}/metadata.json nor {run_id}/{entity file} "
                      "nor {run_id}/prompting_process/{step file}")
    if reason is not None:
        raise ArchiveRefusedError(f"archive member {name[:200]!r} is refused: it has {reason}; "
                                  "nothing was imported")


class _Reader:
    """A zip or tar.gz archive, read in a uniform way."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with open(path, "rb") as f:
            magic = f.read(4)
        if magic.startswith(b"PK"):
            self.kind = "zip"
        elif magic.startswith(b"\x1f\x8b"):
            self.kind = "tar.gz"
        else:
            raise ArchiveRefusedError(f"{path} is neither a zip nor a tar.gz export; nothing was imported")

    def refused(self, exc: BaseException) -> ArchiveRefusedError:
        return ArchiveRefusedError(f"{self.path} is not a readable {self.kind} archive "
                                   f"({type(exc).__name__}: {str(exc)[:200]}); nothing was imported")

    def scan(self) -> _Scan:
        """The members and the documents (manifest, metadata.json files), read without writing anything."""
        scan = _Scan()
        try:
            if self.kind == "zip":
                with zipfile.ZipFile(self.path) as archive:
                    for info in archive.infolist():
                        # Unix tools store the file type in the high bits; others leave it 0 (a plain file).
                        file_type = stat.S_IFMT(info.external_attr >> 16)
                        kind = ("link" if file_type == stat.S_IFLNK else "dir" if info.is_dir()
                                else "special" if file_type not in (0, stat.S_IFREG) else "file")
                        scan.members.append(_Member(info.filename, kind, info.file_size))
                        if kind == "file" and _is_document(info.filename) and info.filename not in scan.documents:
                            with archive.open(info) as stream:
                                scan.documents[info.filename] = stream.read(MAX_DOCUMENT_BYTES + 1)
            else:
                with tarfile.open(self.path, mode="r|gz") as tar:
                    for tar_info in tar:
                        kind = ("file" if tar_info.isreg() else "dir" if tar_info.isdir()
                                else "link" if tar_info.issym() or tar_info.islnk() else "special")
                        scan.members.append(_Member(tar_info.name, kind, tar_info.size))
                        if kind == "file" and _is_document(tar_info.name) and tar_info.name not in scan.documents:
                            extracted = tar.extractfile(tar_info)
                            assert extracted is not None
                            scan.documents[tar_info.name] = extracted.read(MAX_DOCUMENT_BYTES + 1)
        except (*_UNREADABLE, OSError) as exc:
            raise self.refused(exc) from exc
        return scan

    @contextlib.contextmanager
    def files(self) -> Iterator[Iterator[tuple[str, BinaryIO]]]:
        """Each regular member as (name, readable stream), in archive order."""
        try:
            if self.kind == "zip":
                with zipfile.ZipFile(self.path) as archive:
                    def zip_files() -> Iterator[tuple[str, BinaryIO]]:
                        for info in archive.infolist():
                            if not info.is_dir():
                                with archive.open(info) as stream:
                                    yield info.filename, stream  # type: ignore[misc]
                    yield zip_files()
            else:
                with tarfile.open(self.path, mode="r|gz") as tar:
                    def tar_files() -> Iterator[tuple[str, BinaryIO]]:
                        for info in tar:
                            if info.isreg():
                                stream = tar.extractfile(info)
                                assert stream is not None
                                yield info.name, stream  # type: ignore[misc]
                    yield tar_files()
        except _UNREADABLE as exc:
            raise self.refused(exc) from exc


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


def _parse_manifest(scan: _Scan, path: Path, names: set[str]) -> dict[str, tuple[int, str]]:
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


def _check_metadata(scan: _Scan, run_id: str, files: set[str], listed: dict[str, tuple[int, str]]) -> None:
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


def _copy_checked(stream: BinaryIO, target: Path, size: int, sha: str, name: str) -> None:
    digest = hashlib.sha256()
    written = 0
    with open(target, "xb") as out:
        # Never read more than the manifest promises: a member that keeps going is refused, not unpacked.
        while written <= size and (chunk := stream.read(min(CHUNK, size + 1 - written))):
            out.write(chunk)
            digest.update(chunk)
            written += len(chunk)
        out.flush()
        os.fsync(out.fileno())
    if written != size or digest.hexdigest() != sha:
        raise ArchiveRefusedError(f"{name} does not match the size and sha256 in the manifest (tampered or "
                                  "damaged); nothing was imported")


def import_archive(store: Store, path: Path, *, max_total: int | None = None) -> list[str]:
    """Import the runs of an export archive into ``store``; returns their ids. Everything that can be checked
    without writing is checked first (member names and kinds, the manifest, the declared sizes, every run's
    metadata.json, the total against ``max_total`` (default MAX_IMPORT_BYTES), the free space); then the files are
    copied (into a staging folder), each checked against its size and sha256. ArchiveRefusedError (unsafe,
    incomplete, tampered, too large) or RunExistsError: then nothing was written to the store."""
    reader = _Reader(path)
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
    for run_id in sorted(by_run):
        if os.path.lexists(store.run_folder(run_id)):
            raise RunExistsError(f"run {run_id} already exists in {store.runs_dir}; import never overwrites a run "
                                 "(remove it first, or import into another --base-path); nothing was imported")
    created_runs_dir = not store.runs_dir.exists()
    store.runs_dir.mkdir(parents=True, exist_ok=True)
    placed: list[tuple[Path, Path]] = []
    try:
        with staging_folder(store.runs_dir) as staging:
            with reader.files() as files_iter:
                for name, stream in files_iter:
                    if name == MANIFEST_NAME:
                        continue
                    run_id, filename = name.split("/", 1)
                    (staging / run_id / filename).parent.mkdir(parents=True, exist_ok=True)
                    _copy_checked(stream, staging / run_id / filename, *listed[name], name)
            for run_id in sorted(by_run):
                if (staging / run_id / PROCESS_DIRNAME).is_dir():
                    fsync_dir(staging / run_id / PROCESS_DIRNAME)
                fsync_dir(staging / run_id)
            try:
                for run_id in sorted(by_run):
                    _rename_noreplace(staging / run_id, store.run_folder(run_id))
                    placed.append((store.run_folder(run_id), staging / run_id))
            except FileExistsError as exc:
                for target, back in reversed(placed):  # take back what this import placed; it is still ours
                    os.rename(target, back)
                placed.clear()
                raise RunExistsError(f"a run appeared at {exc.filename} while importing; nothing was imported") \
                    from None
            fsync_dir(store.runs_dir)
    except BaseException:
        if created_runs_dir and not placed:
            with contextlib.suppress(OSError):
                store.runs_dir.rmdir()
        raise
    return sorted(by_run)
