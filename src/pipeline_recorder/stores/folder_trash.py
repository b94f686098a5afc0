"""The folder store's trash: ``pipeline_runs/.trash/{run_id}/``, the run folder itself, moved there whole.

Each move is one ``rename`` of the run folder (the same file system, so atomic): a process killed at any moment
leaves the run either in ``pipeline_runs/`` or in ``.trash/``, never in neither and never in both. The folder
carries its own record of when it was trashed (``.trashed.json``, written inside it just before the rename; a
hidden helper file, so never an entity). A folder in ``.trash/`` is no run of the store: ``run_ids``, the index,
every read and every write see nothing there (``.trash`` starts with '.', which no run id does).

- trash: under the run lock, with the document read again, ``.trashed.json`` is written and the folder renamed
  into ``.trash/`` (never over a folder there: the id keeps one copy in the trash);
- restore: the folder is renamed back (never over a run of that id), then its ``.trashed.json`` is removed;
- purge: the folder is renamed to a hidden ``.trash-*`` removal folder in ``pipeline_runs/`` (from that rename
  on it cannot be restored), then deleted; a stop halfway leaves a removal folder that ``gc`` or
  ``verify --repair`` deletes (``ops/leftovers.py``).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..atomic import fsync_dir, rename_noreplace, replace_atomically
from ..document import parse_metadata
from ..errors import CorruptRunError, RunNotFoundError
from ..naming import METADATA_FILENAME, RUN_ID_PATTERN, validate_run_id
from . import folder_files
from .folder_removal import move_out_judged, remove_tree, trash_path
from .trash_errors import already_trashed, exists_outside_trash
from .values import Judge, TrashedRun, trashed_view

if TYPE_CHECKING:
    from .folder import FolderStore

TRASH_DIRNAME = ".trash"
TRASHED_RECORD = ".trashed.json"


def trash_dir(store: FolderStore) -> Path:
    return store.runs_dir / TRASH_DIRNAME


def in_trash(store: FolderStore, run_id: str) -> bool:
    """Whether the trash holds a run of this id (which keeps the id taken)."""
    return os.path.lexists(trash_dir(store) / run_id)


def trash_run(store: FolderStore, run_id: str, may_trash: Judge | None) -> bool:
    trash = trash_dir(store)

    def move(folder: Path) -> None:
        if in_trash(store, run_id):
            raise already_trashed(run_id)
        if not trash.is_dir():
            trash.mkdir(exist_ok=True)
            fsync_dir(store.runs_dir)
        replace_atomically(folder / TRASHED_RECORD, json.dumps({"trashed_at": time.time()}).encode())
        try:
            rename_noreplace(folder, trash / run_id)
        except FileExistsError:
            raise already_trashed(run_id) from None
        fsync_dir(trash)
        fsync_dir(store.runs_dir)

    return move_out_judged(store, run_id, may_trash, move)


def restore_run(store: FolderStore, run_id: str) -> None:
    source = trash_dir(store) / validate_run_id(run_id)
    if not source.is_dir() or source.is_symlink():
        raise RunNotFoundError(f"run {run_id!r} is not in the trash of {store.runs_dir}")
    try:
        rename_noreplace(source, store.run_folder(run_id))
    except FileExistsError:
        raise exists_outside_trash(run_id) from None
    except FileNotFoundError:
        raise RunNotFoundError(f"run {run_id!r} is not in the trash (restored or purged meanwhile)") from None
    fsync_dir(store.runs_dir)
    fsync_dir(trash_dir(store))
    with contextlib.suppress(FileNotFoundError):
        os.unlink(store.run_folder(run_id) / TRASHED_RECORD)


def trashed_runs(store: FolderStore) -> Iterator[TrashedRun]:
    trash = trash_dir(store)
    try:
        entries = list(os.scandir(trash))
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        if not RUN_ID_PATTERN.fullmatch(entry.name) or not entry.is_dir(follow_symlinks=False):
            continue
        yield TrashedRun(entry.name, _trashed_at(trash, entry.name), _document(trash, entry.name))


def _trashed_at(trash: Path, run_id: str) -> float:
    try:
        with folder_files.run_folder_fd(str(trash), run_id) as dir_fd:
            fd, _ = folder_files.open_regular(dir_fd, TRASHED_RECORD)
            with os.fdopen(fd, "rb") as f:
                value = json.loads(f.read(4096))["trashed_at"]
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    except (OSError, ValueError, KeyError, TypeError, RunNotFoundError):
        pass
    try:  # no readable record: the folder's own change time is the best guess left
        return (trash / run_id).lstat().st_ctime
    except OSError:
        return 0.0


def _document(trash: Path, run_id: str) -> dict[str, Any] | None:
    try:
        stored = folder_files.read_document(str(trash), run_id, None)
        assert stored is not None
        return trashed_view(parse_metadata(stored.data, f"{trash}/{run_id}/{METADATA_FILENAME}"))
    except (RunNotFoundError, CorruptRunError, OSError):
        return None


def purge_trashed(store: FolderStore, run_id: str) -> bool:
    source = trash_dir(store) / validate_run_id(run_id)
    if source.is_symlink():
        return False
    removal = trash_path(store.runs_dir, run_id)
    try:
        os.rename(source, removal)  # the commit point: from here on the run is no longer restorable
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return False
        raise
    fsync_dir(trash_dir(store))
    fsync_dir(store.runs_dir)
    remove_tree(removal)
    return True
