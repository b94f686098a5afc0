"""The folder store's run transactions: the run lock (``locking.RunLock``: a mutex across threads, ``flock``
across processes), an up-to-date document, entity files renamed to their numbered names, and metadata.json
replaced atomically (``folder_document.py``).

Entity content is fsynced to a temp file in the run folder before the lock is taken (``stage``), and renamed to its
numbered name inside the transaction, so a save returns only when both the entity and the metadata that lists it
are on disk. A failed transaction removes what it renamed into place -- unless metadata.json on disk lists it
already (the rename committed and only the folder fsync failed): a listed entity must always exist.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, TypeVar

from ..atomic import fsync_dir, stream_temp, write_temp
from ..document import LiveDocument, MetadataDocument, parse_metadata
from ..errors import CorruptRunError, RecorderError, RunNotFoundError
from ..locking import RunLock
from ..naming import METADATA_FILENAME, PROCESS_DIRNAME
from ..runfields import stored_records
from .base import Content, RunTransaction, RunWriter, StagedEntity
from .folder_document import DocumentFile
from .folder_files import read_document

T = TypeVar("T")


class FolderStaged(StagedEntity):
    """Entity bytes in an fsynced temp file of the run folder."""

    def __init__(self, temp: Path, size: int, sha256: str) -> None:
        self.temp = temp
        self.size = size
        self.sha256 = sha256

    def discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.temp)


def stage(folder: Path, run_id: str, content: Content | BinaryIO, head: bytes) -> FolderStaged:
    if not folder.is_dir():
        raise RunNotFoundError(f"run {run_id!r} not found in {folder.parent}")
    if isinstance(content, bytes | bytearray | memoryview):
        data = bytes(content) if head == b"" else head + bytes(content)
        return FolderStaged(write_temp(folder, data), len(data), hashlib.sha256(data).hexdigest())
    temp, size, sha = stream_temp(folder, content, head)
    return FolderStaged(temp, size, sha)


class _FolderTransaction(RunTransaction):
    def __init__(self, writer: FolderRunWriter) -> None:
        self._writer = writer
        self.document = writer.live.doc
        self.placed: list[str] = []

    def place_entity(self, staged: StagedEntity, filename: str) -> None:
        assert isinstance(staged, FolderStaged)
        folder, slash, _ = filename.partition("/")
        if slash:  # a step of the prompting process, in its own real subfolder (never through a link)
            subfolder = self._writer.folder / folder
            if folder != PROCESS_DIRNAME or "/" in filename[len(folder) + 1:]:
                raise ValueError(f"{filename!r} is not a name a run stores")
            if os.path.islink(subfolder) or (os.path.lexists(subfolder) and not subfolder.is_dir()):
                raise CorruptRunError(f"run {self._writer.run_id!r}: {folder}/ is a link or not a folder; nothing "
                                      "is written through it (`pipeline-recorder verify` reports it)")
            subfolder.mkdir(exist_ok=True)  # its entry is made durable by the run folder's fsync of the commit
        # Any file already at this name is an orphan of a writer that died before listing it: replace it.
        os.replace(staged.temp, self._writer.folder / filename)
        if slash:
            fsync_dir(self._writer.folder / folder)
        self.placed.append(filename)

    def replace_document(self) -> None:
        assert self.document is not None
        self._writer.write(self.document)


class FolderRunWriter(RunWriter):
    def __init__(self, runs_dir: Path, run_id: str) -> None:
        self.run_id = run_id
        self.folder = runs_dir / run_id
        self._runs_dir = str(runs_dir)
        self._metadata_path = self.folder / METADATA_FILENAME
        self._lock = RunLock(self.folder)
        self._document = DocumentFile(self.folder)
        self._mutex = threading.RLock()
        self.live = LiveDocument()

    def _refresh(self, allow_missing: bool = False) -> None:
        """Reload metadata.json if any writer replaced it since we last read or wrote it (caller holds _mutex).

        Unchanged means: same inode, size, mtime and ctime as we last saw, *and* the file still starts with the
        header we last saw (document/version.py). The stat alone is not enough: a replaced file can reuse the freed
        inode number with the same size within one coarse timestamp tick, and trusting a stale copy inside a transaction
        would overwrite another writer's entity.
        """
        try:
            stored = read_document(self._runs_dir, self.run_id, self.live.known())
        except RunNotFoundError:
            if allow_missing:
                self.live.forget()
                return
            raise RunNotFoundError(f"run {self.run_id!r} not found in {self._runs_dir}") from None
        if stored is not None:
            self.live.absorb(stored.data, stored.version, self._metadata_path)

    def read(self, look: Callable[[MetadataDocument], T]) -> T:
        with self._mutex:
            self._refresh()
            assert self.live.doc is not None
            return look(self.live.doc)

    def cached_entity_count(self) -> int:
        doc = self.live.doc
        return len(doc.entities) if doc is not None else 0

    @contextlib.contextmanager
    def transaction(self, *, allow_missing: bool = False) -> Iterator[RunTransaction]:
        with self._mutex, self._locked():
            self._refresh(allow_missing=allow_missing)
            txn = _FolderTransaction(self)
            try:
                yield txn
            except BaseException:
                self.live.version = None  # reread from disk next time: memory may hold an unwritten change
                self._unplace(txn.placed)
                raise

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        held = self._lock.held()
        try:
            held.__enter__()
        except (FileNotFoundError, NotADirectoryError):  # no run folder to hold the lock file
            raise RunNotFoundError(f"run {self.run_id!r} not found in {self._runs_dir}") from None
        try:
            yield
        finally:
            held.__exit__(None, None, None)

    def write(self, doc: MetadataDocument) -> None:
        known = self.live.version if self.live.doc is doc else None
        # Under the run lock nobody else replaces the file between its rename and the stat of the new version.
        version = self._document.replace(doc, known, running=doc.header.get("status") == "running")
        self.live.adopt(doc, version)

    def _unplace(self, placed: list[str]) -> None:
        """Not acknowledged: leave no unlisted file behind (a listed entity must stay, see the module docstring)."""
        if not placed:
            return
        try:
            with open(self._metadata_path, "rb") as f:
                listed = {record.get("filename") for record in
                          stored_records(parse_metadata(f.read(), self._metadata_path))}
        except (OSError, RecorderError):
            return  # cannot tell: keep the files
        for filename in placed:
            if filename not in listed:
                with contextlib.suppress(OSError):
                    os.unlink(self.folder / filename)

    def close(self) -> None:
        self._document.forget()
        self._lock.close()
