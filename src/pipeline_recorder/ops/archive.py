"""Export runs to a zip or tar.gz archive with a manifest, and import such archives safely.

An export holds ``manifest.json`` first, then for each run ``{run_id}/metadata.json`` (a snapshot taken once) and
``{run_id}/{entity file}`` for every entity that snapshot lists, checked against its recorded size and sha256 as it
is copied. The manifest lists every file with its size and sha256::

    {"format": "pipeline-recorder-export", "version": 1, "created_at": "...", "runs": ["<run_id>", ...],
     "files": [{"path": "<run_id>/metadata.json", "size": 1234, "sha256": "..."}, ...]}

Import refuses, before writing anything, archives with an unsafe member (absolute path, ``..``, backslash, a link,
a device or fifo, a name that is neither the manifest nor a run file), members missing from the manifest or the
other way round, and runs that already exist in the store. It then extracts into a locked staging folder inside
the store, checks every size and sha256 against the manifest and every run against its own metadata.json, and only
then renames the runs into place (never over an existing folder). A refused import leaves the store as it was.

``iter_zip_export`` streams the same zip as byte chunks, for the HTTP route ``GET /api/pipeline/{run_id}/export``.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import io
import json
import os
import stat
import tarfile
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, BinaryIO

from .. import runformat
from ..atomic import CHUNK, fsync_dir, temp_path
from ..atomic import rename_noreplace as _rename_noreplace
from ..errors import (
    ArchiveRefusedError,
    CorruptRunError,
    EntityNotFoundError,
    ExportFormatError,
    RunExistsError,
    ValidationError,
)
from ..naming import METADATA_FILENAME, RUN_ID_PATTERN, parse_entity_filename, validate_run_id
from ..store import parse_metadata
from ..stores.base import EntityFile, Store
from ..stores.folder import FolderStore
from .leftovers import staging_folder

MANIFEST_NAME = "manifest.json"
EXPORT_FORMAT = "pipeline-recorder-export"
EXPORT_VERSION = 1
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
# Text is compressed; media (already compressed) is stored as it is.
_COMPRESSED_EXTS = frozenset({"txt", "json", "md", "csv", "svg", "bin", "wav", "bmp", "tif"})


# -- export --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Item:
    """One archive member: from ``data`` (in memory) or from ``source`` (an entity of a store, opened by the store
    and checked against its record's size and sha256)."""

    name: str
    size: int
    sha256: str
    data: bytes | None = None
    source: Callable[[], EntityFile] | None = None


def archive_kind(path: str | os.PathLike[str]) -> str:
    """``zip`` or ``tar.gz`` from an export file's name."""
    name = os.fspath(path).lower()
    if name.endswith(".zip"):
        return "zip"
    if name.endswith((".tar.gz", ".tgz")):
        return "tar.gz"
    raise ExportFormatError(f"cannot tell the archive format of {os.fspath(path)!r}: name it *.zip or *.tar.gz")


def _plan(store: Store, run_ids: Sequence[str]) -> list[_Item]:
    """Every member of an export, with the metadata snapshots taken now. RunNotFoundError, CorruptRunError."""
    ids = list(dict.fromkeys(validate_run_id(run_id) for run_id in run_ids))
    if not ids:
        raise ValidationError("name at least one run to export")
    items: list[_Item] = []
    for run_id in ids:
        data = store.read_document_bytes(run_id)
        doc = parse_metadata(data, f"{store.location(run_id)}/{METADATA_FILENAME}")
        items.append(_Item(f"{run_id}/{METADATA_FILENAME}", len(data), hashlib.sha256(data).hexdigest(), data=data))
        for entity in doc["entities"]:
            filename = str(entity["filename"])
            items.append(_Item(f"{run_id}/{filename}", int(entity["size"]), str(entity["sha256"]),
                               source=functools.partial(store.open_entity, run_id, entity)))
    manifest = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "created_at": runformat.utc_now(),
        "runs": ids,
        "files": [{"path": item.name, "size": item.size, "sha256": item.sha256} for item in items],
    }
    data = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
    return [_Item(MANIFEST_NAME, len(data), hashlib.sha256(data).hexdigest(), data=data), *items]


def _chunks(item: _Item) -> Iterator[bytes]:
    """The item's bytes; for a file, raises CorruptRunError if it is not what metadata.json recorded."""
    if item.data is not None:
        yield item.data
        return
    assert item.source is not None
    digest = hashlib.sha256()
    size = 0
    try:
        entity = item.source()  # the store's one safe opener: no links, no fifos, the recorded size
    except EntityNotFoundError as exc:
        raise CorruptRunError(f"{item.name} cannot be exported: {exc}") from exc
    with entity.file as f:
        while size <= item.size and (chunk := f.read(min(CHUNK, item.size + 1 - size))):
            digest.update(chunk)
            size += len(chunk)
            yield chunk
    if size != item.size or digest.hexdigest() != item.sha256:
        raise CorruptRunError(f"{item.name} does not match the size and sha256 in its metadata.json; "
                              "run `pipeline-recorder verify` on it")


class _Sink(io.RawIOBase):
    """A write-only, unseekable stream that collects what zipfile writes, for handing out as chunks."""

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._parts.append(bytes(data))
        return len(self._parts[-1])

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def _zip_items(out: IO[bytes], items: Iterable[_Item], sink: _Sink | None = None) -> Iterator[bytes]:
    """Write the items as a zip into ``out``; yields what ``sink`` collected after each piece (when given)."""
    with zipfile.ZipFile(out, "w", allowZip64=True) as archive:
        for item in items:
            ext = item.name.rsplit(".", 1)[-1]
            info = zipfile.ZipInfo(item.name, date_time=_zip_time())
            info.compress_type = zipfile.ZIP_DEFLATED if ext in _COMPRESSED_EXTS else zipfile.ZIP_STORED
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            with archive.open(info, "w", force_zip64=item.size > 0x7FFF0000) as member:
                for chunk in _chunks(item):
                    member.write(chunk)
                    if sink is not None:
                        yield sink.take()
            if sink is not None:
                yield sink.take()
    if sink is not None:
        yield sink.take()


def _zip_time() -> tuple[int, int, int, int, int, int]:
    now = datetime.now(UTC)
    return (now.year, now.month, now.day, now.hour, now.minute, now.second)


def iter_zip_export(store: Store, run_ids: Sequence[str]) -> Iterator[bytes]:
    """A zip export of ``run_ids`` as a stream of byte chunks, built as it is read (never whole in memory).

    Unknown or unreadable runs raise (RunNotFoundError, CorruptRunError, InvalidRunIdError) when this is called,
    before the first byte; an entity found changed on disk while streaming raises CorruptRunError mid-stream.
    """
    items = _plan(store, run_ids)
    sink = _Sink()

    def chunks() -> Iterator[bytes]:
        for chunk in _zip_items(sink, items, sink):  # type: ignore[arg-type]
            if chunk:
                yield chunk

    return chunks()


def export_runs(store: Store, run_ids: Sequence[str], output: Path, *, overwrite: bool = False) -> list[str]:
    """Write an export of ``run_ids`` to ``output`` (.zip or .tar.gz), atomically; returns the member names."""
    kind = archive_kind(output)
    items = _plan(store, run_ids)
    output = output.absolute()
    if output.exists() and not overwrite:
        raise FileExistsError(errno.EEXIST, f"{output} already exists (use --force to replace it)")
    tmp = temp_path(output.parent)
    try:
        with open(tmp, "xb") as out:
            if kind == "zip":
                for _ in _zip_items(out, items):
                    pass
            else:
                with tarfile.open(fileobj=out, mode="w:gz") as archive:
                    for item in items:
                        info = tarfile.TarInfo(item.name)
                        info.size, info.mode, info.mtime = item.size, 0o644, int(time.time())
                        archive.addfile(info, _ChunkReader(_chunks(item)))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, output)
        fsync_dir(output.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return [item.name for item in items]


class _ChunkReader(io.RawIOBase):
    """A readable stream over a chunk iterator (tarfile reads members from file objects)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__()
        self._chunks = chunks
        self._rest = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._rest:
            try:
                self._rest = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(buffer), len(self._rest))
        buffer[:n] = self._rest[:n]
        self._rest = self._rest[n:]
        return n


# -- import --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Member:
    name: str
    kind: str  # file, dir, link, special
    size: int


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


def _check_member(member: _Member) -> None:
    reason = _unsafe_reason(member.name)
    if reason is None and member.kind == "link":
        reason = "a link"
    if reason is None and member.kind == "special":
        reason = "a device, fifo or other special file"
    if reason is None:
        parts = member.name.rstrip("/").split("/")
        if member.kind == "dir":
            ok = len(parts) == 1 and RUN_ID_PATTERN.fullmatch(parts[0]) is not None
        elif len(parts) == 1:
            ok = parts[0] == MANIFEST_NAME
        else:
            ok = (len(parts) == 2 and RUN_ID_PATTERN.fullmatch(parts[0]) is not None
                  and (parts[1] == METADATA_FILENAME or parse_entity_filename(parts[1]) is not None))
        if not ok:
            reason = "a name that is neither manifest.json nor {run_id}/metadata.json nor {run_id}/{entity file}"
    if reason is not None:
        raise ArchiveRefusedError(f"archive member {member.name[:200]!r} is refused: it has {reason}; "
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

    def members(self) -> list[_Member]:
        found = []
        try:
            if self.kind == "zip":
                with zipfile.ZipFile(self.path) as archive:
                    for info in archive.infolist():
                        # Unix tools store the file type in the high bits; others leave it 0 (a plain file).
                        file_type = stat.S_IFMT(info.external_attr >> 16)
                        kind = ("link" if file_type == stat.S_IFLNK else "dir" if info.is_dir()
                                else "special" if file_type not in (0, stat.S_IFREG) else "file")
                        found.append(_Member(info.filename, kind, info.file_size))
            else:
                with tarfile.open(self.path, mode="r|gz") as archive:
                    for tar_info in archive:
                        kind = ("file" if tar_info.isreg() else "dir" if tar_info.isdir()
                                else "link" if tar_info.issym() or tar_info.islnk() else "special")
                        found.append(_Member(tar_info.name, kind, tar_info.size))
        except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
            raise ArchiveRefusedError(f"{self.path} is not a readable {self.kind} archive ({exc}); "
                                      "nothing was imported") from exc
        return found

    @contextlib.contextmanager
    def files(self) -> Iterator[Iterator[tuple[str, BinaryIO]]]:
        """Each regular member as (name, readable stream), in archive order."""
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


def _load_manifest(reader: _Reader, names: set[str]) -> dict[str, tuple[int, str]]:
    """The manifest's files as {path: (size, sha256)}, checked to list exactly the archive's files."""
    if MANIFEST_NAME not in names:
        raise ArchiveRefusedError(f"{reader.path} has no {MANIFEST_NAME}; it is not a pipeline-recorder export")
    data = b""
    with reader.files() as files:
        for name, stream in files:
            if name == MANIFEST_NAME:
                data = stream.read(MAX_MANIFEST_BYTES + 1)
                break
    try:
        manifest = json.loads(data)
        if len(data) > MAX_MANIFEST_BYTES:
            raise ValueError("it is too large")
        if manifest.get("format") != EXPORT_FORMAT or manifest.get("version") != EXPORT_VERSION:
            raise ValueError(f"it is not format {EXPORT_FORMAT!r} version {EXPORT_VERSION}")
        listed: dict[str, tuple[int, str]] = {}
        for entry in manifest["files"]:
            path, size, sha = entry["path"], entry["size"], entry["sha256"]
            if not (isinstance(path, str) and isinstance(size, int) and size >= 0 and isinstance(sha, str)):
                raise ValueError(f"entry {entry!r:.120} needs a path, a size and a sha256")
            listed[path] = (size, sha)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ArchiveRefusedError(f"{MANIFEST_NAME} in {reader.path} is unusable: {exc}; nothing was imported") \
            from None
    members = names - {MANIFEST_NAME}
    for name in sorted(members - set(listed))[:1]:
        raise ArchiveRefusedError(f"archive member {name!r} is not in the manifest; nothing was imported")
    for name in sorted(set(listed) - members)[:1]:
        raise ArchiveRefusedError(f"the manifest lists {name!r}, which the archive lacks; nothing was imported")
    return listed


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


def _check_run(folder: Path, run_id: str, files: set[str]) -> None:
    """A staged run must follow the format, and hold exactly the entities it lists, unchanged."""
    try:
        doc = parse_metadata((folder / METADATA_FILENAME).read_bytes(), Path(run_id) / METADATA_FILENAME)
    except CorruptRunError as exc:
        raise ArchiveRefusedError(f"{exc}; nothing was imported") from None
    if doc["run_id"] != run_id:
        raise ArchiveRefusedError(f"{run_id}/metadata.json names run {doc['run_id']!r}; nothing was imported")
    listed = {str(entity["filename"]): entity for entity in doc["entities"]}
    for name in sorted(files - set(listed) - {METADATA_FILENAME})[:1]:
        raise ArchiveRefusedError(f"{run_id}/{name} is not listed in the run's metadata.json; nothing was imported")
    for filename, entity in listed.items():
        path = folder / filename
        if filename not in files:
            raise ArchiveRefusedError(f"{run_id}/{filename} is listed in the run's metadata.json but missing "
                                      "from the archive; nothing was imported")
        if os.path.getsize(path) != entity["size"] or _sha_file(path) != entity["sha256"]:
            raise ArchiveRefusedError(f"{run_id}/{filename} does not match its run's metadata.json; "
                                      "nothing was imported")


def _sha_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def import_archive(store: FolderStore, path: Path) -> list[str]:
    """Import the runs of an export archive into ``store``; returns their ids.

    ArchiveRefusedError (unsafe, incomplete, tampered) or RunExistsError (a run is already in the store), in which
    case nothing was written to the store.
    """
    reader = _Reader(path)
    members = reader.members()
    names: set[str] = set()
    for member in members:
        _check_member(member)
        if member.kind == "file":
            if member.name in names:
                raise ArchiveRefusedError(f"archive member {member.name!r} appears twice; nothing was imported")
            names.add(member.name)
    listed = _load_manifest(reader, names)
    by_run: dict[str, set[str]] = {}
    for name in names - {MANIFEST_NAME}:
        run_id, filename = name.split("/")
        by_run.setdefault(run_id, set()).add(filename)
    if not by_run:
        raise ArchiveRefusedError(f"{path} holds no runs; nothing was imported")
    for run_id, files in sorted(by_run.items()):
        if METADATA_FILENAME not in files:
            raise ArchiveRefusedError(f"run {run_id} in the archive has no metadata.json; nothing was imported")
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
                    run_id, filename = name.split("/")
                    (staging / run_id).mkdir(exist_ok=True)
                    _copy_checked(stream, staging / run_id / filename, *listed[name], name)
            for run_id, files in sorted(by_run.items()):
                _check_run(staging / run_id, run_id, files)
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

