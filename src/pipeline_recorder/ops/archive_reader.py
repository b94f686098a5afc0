"""Reading an export archive (zip or tar.gz) without writing anything: its members' names, kinds and declared
sizes, the documents an import checks first (the manifest, each run's metadata.json), the check of every member's
name and kind, and the regular members as streams, in archive order."""

from __future__ import annotations

import contextlib
import gzip
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from ..errors import ArchiveRefusedError
from ..naming import METADATA_FILENAME, PROCESS_DIRNAME, RUN_ID_PATTERN, parse_stored_filename
from .archive import MANIFEST_NAME

# What a manifest or metadata.json may hold (read to be checked first).
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Member:
    name: str
    kind: str  # file, dir, link, special
    size: int  # as the archive declares it


@dataclass
class Scan:
    """What one pass over an archive tells before anything is written: every member's name, kind and declared size,
    and the bytes of the manifest and of each run's metadata.json (at most MAX_DOCUMENT_BYTES + 1 of each)."""

    members: list[Member] = field(default_factory=list)
    documents: dict[str, bytes] = field(default_factory=dict)


def is_document(name: str) -> bool:
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
            ok = RUN_ID_PATTERN.fullmatch(parts[0]) is not None and (
                (len(parts) == 2 and parts[1] == METADATA_FILENAME)
                or parse_stored_filename("/".join(parts[1:])) is not None)
        if not ok:
            reason = ("a name that is neither manifest.json nor {run_id}/metadata.json nor {run_id}/{entity file} "
                      "nor {run_id}/prompting_process/{step file}")
    if reason is not None:
        raise ArchiveRefusedError(f"archive member {name[:200]!r} is refused: it has {reason}; "
                                  "nothing was imported")


class ArchiveReader:
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

    def scan(self) -> Scan:
        """The members and the documents (manifest, metadata.json files), read without writing anything."""
        scan = Scan()
        try:
            if self.kind == "zip":
                with zipfile.ZipFile(self.path) as archive:
                    for info in archive.infolist():
                        # Unix tools store the file type in the high bits; others leave it 0 (a plain file).
                        file_type = stat.S_IFMT(info.external_attr >> 16)
                        kind = ("link" if file_type == stat.S_IFLNK else "dir" if info.is_dir()
                                else "special" if file_type not in (0, stat.S_IFREG) else "file")
                        scan.members.append(Member(info.filename, kind, info.file_size))
                        if kind == "file" and is_document(info.filename) and info.filename not in scan.documents:
                            with archive.open(info) as stream:
                                scan.documents[info.filename] = stream.read(MAX_DOCUMENT_BYTES + 1)
            else:
                with tarfile.open(self.path, mode="r|gz") as tar:
                    for tar_info in tar:
                        kind = ("file" if tar_info.isreg() else "dir" if tar_info.isdir()
                                else "link" if tar_info.issym() or tar_info.islnk() else "special")
                        scan.members.append(Member(tar_info.name, kind, tar_info.size))
                        if kind == "file" and is_document(tar_info.name) and tar_info.name not in scan.documents:
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
