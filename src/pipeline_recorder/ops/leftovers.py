"""Hidden folders that operations leave in the store while they work, and how a later run finishes them.

``gc`` first renames a run folder to ``pipeline_runs/.trash-{run_id}-{nonce}`` (one atomic rename: the run is gone
from every listing at once), then deletes it. ``import`` extracts into ``pipeline_runs/.import-{nonce}/`` and
renames the verified runs into place. Both names start with '.', so they are never taken for runs. If a process is
stopped halfway, ``gc`` or ``verify --repair`` finishes the job: trash is deleted, and an import staging folder
whose importer is gone (its ``.lock`` is not held) is removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

TRASH_PREFIX = ".trash-"
STAGING_PREFIX = ".import-"
STAGING_LOCK = ".lock"


@dataclass(frozen=True)
class Leftover:
    """A hidden folder in the store left by an operation: ``kind`` is ``trash`` or ``import``."""

    path: Path
    kind: str


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


@contextlib.contextmanager
def staging_folder(runs_dir: Path) -> Iterator[Path]:
    """A fresh import staging folder inside the store, locked while in use and removed afterwards."""
    path = runs_dir / f"{STAGING_PREFIX}{uuid.uuid4().hex}"
    path.mkdir()
    fd = os.open(path / STAGING_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield path
    finally:
        try:
            remove_tree(path)
        finally:
            os.close(fd)


def _staging_in_use(path: Path) -> bool:
    try:
        fd = os.open(path / STAGING_LOCK, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return False  # created but not yet locked, or being removed: a stopped importer never gets further
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def find_leftovers(runs_dir: Path) -> list[Leftover]:
    """Trash and abandoned import folders in the store (an import still in progress is not listed)."""
    try:
        entries = sorted(os.scandir(runs_dir), key=lambda entry: entry.name)
    except FileNotFoundError:
        return []
    found = []
    for entry in entries:
        if not entry.is_dir(follow_symlinks=False):
            continue
        if entry.name.startswith(TRASH_PREFIX):
            found.append(Leftover(Path(entry.path), "trash"))
        elif entry.name.startswith(STAGING_PREFIX) and not _staging_in_use(Path(entry.path)):
            found.append(Leftover(Path(entry.path), "import"))
    return found


def finish_leftovers(runs_dir: Path) -> list[Leftover]:
    """Delete every leftover folder; returns what was removed."""
    removed = []
    for leftover in find_leftovers(runs_dir):
        remove_tree(leftover.path)
        removed.append(leftover)
    return removed
