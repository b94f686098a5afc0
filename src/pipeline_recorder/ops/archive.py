"""Export runs to a zip or tar.gz archive with a manifest: the export format, and writing or streaming it.

An export holds ``manifest.json`` first, then for each run ``{run_id}/metadata.json`` (a snapshot taken once) and
``{run_id}/{entity file}`` for every entity that snapshot lists, checked against its recorded size and sha256 as it
is copied. The manifest lists every file with its size and sha256::

    {"format": "pipeline-recorder-export", "version": 1, "created_at": "...", "runs": ["<run_id>", ...],
     "files": [{"path": "<run_id>/metadata.json", "size": 1234, "sha256": "..."}, ...]}

Import (the checks before anything is written, staging, placing) is ``importing.py``.

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
from typing import IO, Any

from .. import __version__, runformat
from ..atomic import CHUNK, fsync_dir, temp_path
from ..document import parse_metadata
from ..errors import (
    CorruptRunError,
    EntityNotFoundError,
    ExportFormatError,
    ValidationError,
)
from ..naming import METADATA_FILENAME, validate_run_id
from ..runfields import stored_records
from ..stores.base import EntityFile, Store

MANIFEST_NAME = "manifest.json"
EXPORT_FORMAT = "pipeline-recorder-export"
EXPORT_VERSION = 1
# Text is compressed; media (already compressed) is stored as it is.
_COMPRESSED_EXTS = frozenset({"txt", "json", "md", "csv", "svg", "bin", "wav", "bmp", "tif"})


# -- export --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
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


def _plan(store: Store, run_ids: Sequence[str]) -> list[Member]:
    """Every member of an export, with the metadata snapshots taken now. RunNotFoundError, CorruptRunError."""
    ids = list(dict.fromkeys(validate_run_id(run_id) for run_id in run_ids))
    if not ids:
        raise ValidationError("name at least one run to export")
    runs = []
    for run_id in ids:
        data = store.read_document_bytes(run_id)
        runs.append((run_id, data, parse_metadata(data, f"{store.location(run_id)}/{METADATA_FILENAME}")))
    return plan_members(store, runs)


def plan_members(store: Store, runs: Sequence[tuple[str, bytes, dict[str, Any]]],
                 manifest_extra: dict[str, Any] | None = None) -> list[Member]:
    """The members of an export of ``runs`` (run id, the metadata.json bytes to store, that document parsed): the
    manifest (with ``manifest_extra`` added), then each run's metadata.json and every file it lists (its entities,
    then the steps of its prompting process)."""
    items: list[Member] = []
    for run_id, data, doc in runs:
        items.append(Member(f"{run_id}/{METADATA_FILENAME}", len(data), hashlib.sha256(data).hexdigest(), data=data))
        for entity in stored_records(doc):  # the entities, then the steps of the prompting process
            filename = str(entity["filename"])
            items.append(Member(f"{run_id}/{filename}", int(entity["size"]), str(entity["sha256"]),
                               source=functools.partial(store.open_entity, run_id, entity)))
    manifest = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "created_at": runformat.utc_now(),
        "tool_version": __version__,
        **(manifest_extra or {}),
        "runs": [run_id for run_id, _, _ in runs],
        "files": [{"path": item.name, "size": item.size, "sha256": item.sha256} for item in items],
    }
    data = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
    return [Member(MANIFEST_NAME, len(data), hashlib.sha256(data).hexdigest(), data=data), *items]


def _chunks(item: Member) -> Iterator[bytes]:
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


def _zip_items(out: IO[bytes], items: Iterable[Member], sink: _Sink | None = None) -> Iterator[bytes]:
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
    return iter_zip_members(_plan(store, run_ids))


def iter_zip_members(items: Sequence[Member]) -> Iterator[bytes]:
    """Planned members (``plan_members``) as a zip, streamed as byte chunks."""
    sink = _Sink()

    def chunks() -> Iterator[bytes]:
        for chunk in _zip_items(sink, items, sink):  # type: ignore[arg-type]
            if chunk:
                yield chunk

    return chunks()


def export_runs(store: Store, run_ids: Sequence[str], output: Path, *, overwrite: bool = False) -> list[str]:
    """Write an export of ``run_ids`` to ``output`` (.zip or .tar.gz), atomically; returns the member names."""
    return write_members(_plan(store, run_ids), output, overwrite=overwrite)


def write_members(items: Sequence[Member], output: Path, *, overwrite: bool = False) -> list[str]:
    """Write planned members (``plan_members``) to ``output`` (.zip or .tar.gz), atomically; their names."""
    kind = archive_kind(output)
    output = output.absolute()
    if output.exists() and not overwrite:
        raise FileExistsError(errno.EEXIST, f"{output} already exists (use --force to replace it)")

    def write(out: IO[bytes]) -> None:
        if kind == "zip":
            for _ in _zip_items(out, items):
                pass
        else:
            with tarfile.open(fileobj=out, mode="w:gz") as archive:
                for item in items:
                    info = tarfile.TarInfo(item.name)
                    info.size, info.mode, info.mtime = item.size, 0o644, int(time.time())
                    archive.addfile(info, _ChunkReader(_chunks(item)))

    write_atomically(output, write)
    return [item.name for item in items]


def write_atomically(output: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Let ``write`` fill a temp file beside ``output``, make it durable, then rename it into place: a reader of
    ``output`` sees the old file or the whole new one, and a failed export leaves no partial file."""
    tmp = temp_path(output.parent)
    try:
        with open(tmp, "xb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, output)
        fsync_dir(output.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


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


