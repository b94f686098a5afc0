"""The folder store: runs as folders under ``{base_path}/pipeline_runs/{run_id}/``, the format of docs/LIBRARY.md.

Every path it builds comes from a validated run id or a listed filename, and files are opened relative to the run
folder, never through links (``folder_files``). Hidden helper files start with '.', so they are never runs or
entities: ``.lock`` (the run lock), ``.leases.json`` (leases of remote writers), ``.tmp-*`` (staged content),
and in ``pipeline_runs/`` the ``.create-*`` folders new runs are made in and the ``.trash-*`` folders of removed
runs (``ops/leftovers.py`` finishes what a stopped process left).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Callable, Hashable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from ..atomic import fsync_dir, replace_atomically
from ..document import MetadataDocument
from ..errors import CorruptRunError, RecorderError, RunNotFoundError
from ..locking import RunLock
from ..naming import (
    METADATA_FILENAME,
    PROCESS_DIRNAME,
    RUN_ID_PATTERN,
    RUNS_DIRNAME,
    parse_entity_filename,
    validate_run_id,
)
from . import folder_files
from .base import DEFAULT_LEASE_SECONDS, Content, EntityFile, StagedEntity, Store, StoredDocument, StoredFile, Wake
from .folder_watch import WatchHub
from .folder_writer import FolderRunWriter, stage

if TYPE_CHECKING:
    from ..index import RunIndex

BASE_PATH_ENV = "PIPELINE_RECORDER_BASE_PATH"
# Hidden staging folders in pipeline_runs/ where new runs are made before they appear (never run ids: '.').
CREATE_PREFIX = ".create-"
TRASH_PREFIX = ".trash-"
LEASES_FILENAME = ".leases.json"
LEASES_LOCK_FILENAME = ".leases.lock"


def default_base_path() -> Path:
    return Path(os.environ.get(BASE_PATH_ENV) or ".").absolute()


def trash_path(runs_dir: Path, run_id: str) -> Path:
    return runs_dir / f"{TRASH_PREFIX}{run_id}-{uuid.uuid4().hex[:12]}"


def remove_tree(path: Path) -> None:
    """Delete a folder tree; parts that another process removed meanwhile are not an error."""

    def ignore_missing(function: object, name: str, excinfo: tuple[type[BaseException], BaseException, object]) -> None:
        if not isinstance(excinfo[1], FileNotFoundError):
            raise excinfo[1]

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=lambda function, name, exc: ignore_missing(function, name, (type(exc), exc, None)))
    else:
        shutil.rmtree(path, onerror=ignore_missing)


class FolderStore(Store):
    """The runs under one base path (default: ``$PIPELINE_RECORDER_BASE_PATH`` or the working directory)."""

    def __init__(self, base_path: str | os.PathLike[str] | None = None) -> None:
        self.base_path = Path(base_path).absolute() if base_path is not None else default_base_path()
        self.runs_dir = self.base_path / RUNS_DIRNAME
        self.url = str(self.base_path)
        self._runs_dir = str(self.runs_dir)  # plain strings on hot paths: pathlib would be a fifth of a /status
        self.watches = WatchHub()
        self._index: RunIndex | None = None
        self._index_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FolderStore({self.url!r})"

    def run_folder(self, run_id: str) -> Path:
        """The folder of a run (validated id; the folder may not exist)."""
        return self.runs_dir / validate_run_id(run_id)

    def local_folder(self, run_id: str) -> Path | None:
        return self.run_folder(run_id)

    def location(self, run_id: str | None = None) -> str:
        return str(self.runs_dir if run_id is None else self.run_folder(run_id))

    # -- runs ----------------------------------------------------------------------------------------------------

    def create_run(self, run_id: str, document: MetadataDocument) -> bool:
        """Make the run folder appear whole: metadata.json is written in a hidden staging folder, which is then
        renamed into place. A run folder therefore always holds a metadata.json, even if its creator is killed;
        a killed creator leaves only a hidden ``.create-*`` folder, never a half-made run. If another process
        creates the run first, the rename fails and this returns False."""
        folder = self.run_folder(run_id)
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        staging = self.runs_dir / f"{CREATE_PREFIX}{run_id}-{uuid.uuid4().hex[:12]}"
        staging.mkdir()
        try:
            replace_atomically(staging / METADATA_FILENAME, document.chunks())
            try:
                os.rename(staging, folder)
            except OSError as exc:
                if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise
                return False
            fsync_dir(self.runs_dir)
            return True
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)

    def run_exists(self, run_id: str) -> bool:
        return (self.run_folder(run_id) / METADATA_FILENAME).is_file()

    def exists(self, run_id: str) -> bool:
        """The old name of ``run_exists``."""
        return self.run_exists(run_id)

    def run_ids(self) -> Iterator[str]:
        """Ids of the run folders present (unordered); names that are not run ids are skipped."""
        try:
            entries = os.scandir(self.runs_dir)
        except FileNotFoundError:
            return
        with entries:
            for entry in entries:
                if RUN_ID_PATTERN.fullmatch(entry.name) and entry.is_dir(follow_symlinks=False):
                    yield entry.name

    def delete_run(self, run_id: str, may_delete: Callable[[dict[str, Any] | None], bool] | None = None) -> bool:
        """Under the run lock, with the document read again, the folder is renamed to a hidden ``.trash-*`` name
        (one atomic rename: no listing, route or command sees the run after it), then deleted. A process stopped
        between the two leaves only trash, which ``gc`` or ``verify --repair`` deletes."""
        folder = self.run_folder(run_id)
        if not folder.is_dir() or folder.is_symlink():
            raise RunNotFoundError(f"run {run_id!r} not found in {self.runs_dir}")
        lock = RunLock(folder)
        try:
            with lock.held():
                doc: dict[str, Any] | None
                try:
                    doc = self.read_metadata(run_id)
                except (CorruptRunError, RunNotFoundError):
                    doc = None
                if may_delete is not None and not may_delete(doc):
                    return False
                trash = trash_path(self.runs_dir, run_id)
                os.rename(folder, trash)
                fsync_dir(self.runs_dir)
        finally:
            lock.close()
        remove_tree(trash)
        return True

    # -- writing -------------------------------------------------------------------------------------------------

    def writer(self, run_id: str) -> FolderRunWriter:
        return FolderRunWriter(self.runs_dir, validate_run_id(run_id))

    def stage_entity(self, run_id: str, content: Content | BinaryIO, head: bytes = b"") -> StagedEntity:
        return stage(self.run_folder(run_id), run_id, content, head)

    # -- reading -------------------------------------------------------------------------------------------------

    def read_document(self, run_id: str, known: Hashable | None = None) -> StoredDocument | None:
        return folder_files.read_document(self._runs_dir, run_id, known)

    def read_metadata_bytes(self, run_id: str) -> bytes:
        """The old name of ``read_document_bytes``."""
        return self.read_document_bytes(run_id)

    def open_entity(self, run_id: str, record: dict[str, Any]) -> EntityFile:
        return folder_files.open_entity(self._runs_dir, run_id, record)

    def stored_files(self, run_id: str) -> Iterator[StoredFile]:
        folder = self.run_folder(run_id)
        try:
            entries = os.scandir(folder)
        except (FileNotFoundError, NotADirectoryError):
            raise RunNotFoundError(f"run {run_id!r} not found in {self.runs_dir}") from None
        with entries:
            for entry in entries:
                if parse_entity_filename(entry.name) is not None and entry.is_file(follow_symlinks=False):
                    yield StoredFile(entry.name, entry.stat(follow_symlinks=False).st_size)
                elif entry.name == PROCESS_DIRNAME and entry.is_dir(follow_symlinks=False):
                    yield from _process_files(folder / PROCESS_DIRNAME)

    def run_index(self) -> RunIndex:
        """The store's run listing (an SQLite index in ``pipeline_runs/.index/``), made on first use."""
        with self._index_lock:
            if self._index is None:
                from ..index import RunIndex

                self._index = RunIndex(self)
            return self._index

    # -- following -----------------------------------------------------------------------------------------------

    def subscribe(self, run_id: str, wake: Wake) -> None:
        folder = self.run_folder(run_id)
        if folder.is_symlink() or not folder.is_dir():
            raise RunNotFoundError(f"run {run_id!r} not found (its folder is a link or not a directory)")
        self.watches.subscribe(folder, wake)

    def unsubscribe(self, run_id: str, wake: Wake) -> None:
        self.watches.unsubscribe(self.run_folder(run_id), wake)

    # -- leases --------------------------------------------------------------------------------------------------

    def leases(self, run_id: str) -> dict[str, float]:
        try:
            with folder_files.run_folder_fd(self._runs_dir, run_id) as dir_fd:
                fd, _ = folder_files.open_regular(dir_fd, LEASES_FILENAME)
        except (OSError, RecorderError):
            return {}
        with os.fdopen(fd, "rb") as f:
            data = f.read(1 << 20)
        try:
            parsed = json.loads(data)
        except ValueError:
            return {}
        if not isinstance(parsed, dict):
            return {}
        return {str(holder): float(ends) for holder, ends in parsed.items()
                if isinstance(ends, int | float) and not isinstance(ends, bool)}

    def _change_leases(self, run_id: str, change: Callable[[dict[str, float]], None]) -> None:
        folder = self.run_folder(run_id)
        if not (folder / METADATA_FILENAME).is_file() or folder.is_symlink():
            raise RunNotFoundError(f"run {run_id!r} not found in {self.runs_dir}")
        # Its own lock file, not the run lock: a lease may be renewed from inside a run transaction.
        lock = RunLock(folder, LEASES_LOCK_FILENAME)
        try:
            with lock.held():
                leases = self.leases(run_id)
                change(leases)
                replace_atomically(folder / LEASES_FILENAME, json.dumps(leases, sort_keys=True).encode(),
                                   sync_dir=False)
        finally:
            lock.close()

    def renew_lease(self, run_id: str, holder: str, ttl_seconds: float = DEFAULT_LEASE_SECONDS) -> None:
        ends = time.time() + float(ttl_seconds)
        self._change_leases(run_id, lambda leases: leases.__setitem__(str(holder), ends))

    def release_lease(self, run_id: str, holder: str) -> None:
        now = time.time()
        self._change_leases(run_id, lambda leases: leases.__setitem__(str(holder), min(leases.get(holder, now), now)))

    def close(self) -> None:
        self.watches.close()
        with self._index_lock:
            index, self._index = self._index, None
        if index is not None:
            index.close()



def _process_files(folder: Path) -> Iterator[StoredFile]:
    """The step files of a run's prompting process (a real folder, not followed through links)."""
    try:
        entries = os.scandir(folder)
    except OSError:
        return
    with entries:
        for entry in entries:
            if parse_entity_filename(entry.name) is not None and entry.is_file(follow_symlinks=False):
                yield StoredFile(f"{PROCESS_DIRNAME}/{entry.name}", entry.stat(follow_symlinks=False).st_size)
