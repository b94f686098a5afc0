"""The folder store: runs as folders under ``{base_path}/pipeline_runs/{run_id}/``, the format of docs/LIBRARY.md.

Every path it builds comes from a validated run id or a listed filename, and files are opened relative to the run
folder, never through links (``folder_files``). Its parts, each in its own module: the layout and hidden names
(``folder_layout.py``), transactions (``folder_writer.py``), the document's commit (``folder_document.py``), safe
reads (``folder_files.py``), what a run folder stores (``folder_contents.py``), helper files
(``folder_helpers.py``), leases (``folder_leases.py``), removing a run (``folder_removal.py``), the trash
(``folder_trash.py``), the erasure log (``folder_erasure.py``) and change notifications (``folder_watch.py``).
This class ties them together and makes new runs appear whole.
"""

from __future__ import annotations

import errno
import os
import shutil
import threading
import uuid
from collections.abc import Hashable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from ..atomic import fsync_dir, replace_atomically
from ..document import MetadataDocument
from ..errors import RunNotFoundError
from ..idempotency import FolderIdempotency
from ..naming import METADATA_FILENAME, RUN_ID_PATTERN, RUNS_DIRNAME, validate_run_id
from . import folder_contents, folder_erasure, folder_files, folder_helpers, folder_leases, folder_trash, trash_errors
from .base import Store
from .folder_layout import BASE_PATH_ENV, CREATE_PREFIX, TRASH_PREFIX, default_base_path
from .folder_removal import move_out_judged, remove_tree, trash_path
from .folder_watch import WatchHub
from .folder_writer import FolderRunWriter, stage
from .handles import EntityFile, StagedEntity
from .values import DEFAULT_LEASE_SECONDS, Content, Judge, StoredDocument, StoredFile, TrashedRun, Wake

if TYPE_CHECKING:
    from ..index import RunIndex

# Names that live in the modules above, importable from here as before (ops/leftovers.py, ops/erase.py, the CLI).
__all__ = ["BASE_PATH_ENV", "CREATE_PREFIX", "TRASH_PREFIX", "FolderStore", "default_base_path", "remove_tree"]


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
        self._idempotency = FolderIdempotency(self.run_folder)

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
        if folder_trash.in_trash(self, run_id):
            raise trash_errors.id_in_trash(run_id)
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

    def delete_run(self, run_id: str, may_delete: Judge | None = None) -> bool:
        """Under the run lock, with the document read again, the folder is renamed to a hidden ``.trash-*`` name
        (one atomic rename: no listing, route or command sees the run after it), then deleted. A process stopped
        between the two leaves only trash, which ``gc`` or ``verify --repair`` deletes."""
        trash = trash_path(self.runs_dir, run_id)

        def move(folder: Path) -> None:
            os.rename(folder, trash)
            fsync_dir(self.runs_dir)

        if not move_out_judged(self, run_id, may_delete, move):
            return False
        remove_tree(trash)
        return True

    # -- the trash: pipeline_runs/.trash/ (folder_trash.py) ------------------------------------------------------

    def trash_run(self, run_id: str, may_trash: Judge | None = None) -> bool:
        return folder_trash.trash_run(self, run_id, may_trash)

    def restore_run(self, run_id: str) -> None:
        folder_trash.restore_run(self, run_id)

    def trashed_runs(self) -> Iterator[TrashedRun]:
        return folder_trash.trashed_runs(self)

    def purge_trashed(self, run_id: str) -> bool:
        return folder_trash.purge_trashed(self, run_id)

    # -- erasure: the index rewritten, the log pipeline_runs/.erasures.jsonl ------------------------------------

    def compact(self) -> None:
        if (self.runs_dir / ".index").is_dir():
            self.run_index().compact()

    def record_erasure(self, entry: dict[str, Any]) -> None:
        folder_erasure.record_erasure(self.runs_dir, entry)

    def erasures(self) -> list[dict[str, Any]]:
        return folder_erasure.erasures(self.runs_dir)

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

    def read_helper(self, run_id: str, name: str) -> bytes | None:
        return folder_helpers.read_helper(self._runs_dir, run_id, name)

    def write_helper(self, run_id: str, name: str, data: bytes) -> None:
        folder_helpers.write_helper(self._runs_dir, run_id, name, data)

    def stored_files(self, run_id: str) -> Iterator[StoredFile]:
        return folder_contents.stored_files(self.runs_dir, run_id)

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
        return folder_leases.read_leases(self._runs_dir, run_id)

    def renew_lease(self, run_id: str, holder: str, ttl_seconds: float = DEFAULT_LEASE_SECONDS) -> None:
        folder_leases.renew_lease(self.runs_dir, run_id, holder, ttl_seconds)

    def release_lease(self, run_id: str, holder: str) -> None:
        folder_leases.release_lease(self.runs_dir, run_id, holder)

    def idempotency(self) -> FolderIdempotency:
        """Records of keyed writes in each run folder's hidden ``.idempotency/`` (removed with the run)."""
        return self._idempotency

    def close(self) -> None:
        self.watches.close()
        with self._index_lock:
            index, self._index = self._index, None
        if index is not None:
            index.close()
