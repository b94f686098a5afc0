"""Taking a run folder out of ``pipeline_runs/`` whole, for the folder store's delete and trash.

Both work the same way: under the run lock, with the document read again (a writer may have changed it since the
caller looked), the caller's judgement decides, and one rename moves the folder out, so that no listing, route or
command sees the run after it. A folder renamed to a hidden ``.trash-*`` removal folder is then deleted; a process
stopped between the two leaves only that folder, which ``gc`` or ``verify --repair`` deletes (``ops/leftovers.py``).
"""

from __future__ import annotations

import shutil
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CorruptRunError, RunNotFoundError
from ..locking import RunLock
from .folder_layout import TRASH_PREFIX
from .values import Judge

if TYPE_CHECKING:
    from .folder import FolderStore


def move_out_judged(store: FolderStore, run_id: str, judge: Judge | None, move: Callable[[Path], None]) -> bool:
    """``move(folder)`` under the run lock when ``judge(document)`` says so (always when None); False when it kept
    the run. RunNotFoundError when there is no run folder (or it is a link)."""
    folder = store.run_folder(run_id)
    if not folder.is_dir() or folder.is_symlink():
        raise RunNotFoundError(f"run {run_id!r} not found in {store.runs_dir}")
    lock = RunLock(folder)
    try:
        with lock.held():
            doc: dict[str, Any] | None
            try:
                doc = store.read_metadata(run_id)
            except (CorruptRunError, RunNotFoundError):
                doc = None
            if judge is not None and not judge(doc):
                return False
            move(folder)
    finally:
        lock.close()
    return True


def trash_path(runs_dir: Path, run_id: str) -> Path:
    """A fresh hidden removal folder name for the run in ``pipeline_runs/``."""
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
