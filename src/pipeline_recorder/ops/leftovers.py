"""Hidden files and folders that writers and operations leave in the store while they work, and how a later run
finishes them.

``gc`` first renames a run folder to ``pipeline_runs/.trash-{run_id}-{nonce}`` (one atomic rename: the run is gone
from every listing at once), then deletes it. ``import`` extracts into ``pipeline_runs/.import-{nonce}/`` and
renames the verified runs into place. A new run is made in ``pipeline_runs/.create-{run_id}-{nonce}/`` and renamed
into place whole (see LivePipelineRecorder). Entity content is written to ``.tmp-*`` files in the run folder first.
All these names start with '.', so they are never taken for runs or entities. If a process is stopped halfway,
``gc`` or ``verify --repair`` finishes the job:

- trash is deleted;
- an import staging folder whose importer is gone (its ``.lock`` is not held) is removed;
- a creation staging folder is removed when the creator its metadata.json records is gone, or when it is older than
  an hour (a creation takes milliseconds; one without a readable metadata.json waits for that hour);
- a temp file in a run folder is removed when no writer of the run lives any more (or the run has ended), or when
  it was not written to for an hour.

A store without local folders (the shared store) has none of these; what a writer killed mid-save leaves there is
an upload object (``.staging-*``), which the store itself judges abandoned (``Store.abandoned_uploads``: old enough
that no live writer can still be using it); ``store_uploads`` lists or removes those as leftovers of kind
``upload``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import runformat
from ..atomic import TEMP_PREFIX
from ..liveness import run_is_alive
from ..naming import METADATA_FILENAME, RUN_ID_PATTERN
from ..stores.base import Store
from ..stores.folder import CREATE_PREFIX, TRASH_PREFIX, remove_tree

STAGING_PREFIX = ".import-"
STAGING_LOCK = ".lock"
# A staging folder or temp file untouched this long is abandoned, whoever made it: creating a run takes
# milliseconds, and a streamed entity writes to its temp file all the time.
ABANDONED_AFTER_S = 3600.0
# What left each kind of leftover, for messages: "left by an interrupted ...".
MADE_BY = {"trash": "gc", "import": "import", "create": "run creation", "temp": "entity save",
           "upload": "entity upload"}


@dataclass(frozen=True)
class Leftover:
    """A hidden folder in the store, or a temp file in a run folder, left by a stopped writer or operation:
    ``kind`` is ``trash``, ``import``, ``create`` or ``temp``; or ``upload``, an object of a store without local
    folders, whose ``path`` is then its name in the store, ``{run_id}/{object}``."""

    path: Path
    kind: str

    @property
    def name(self) -> str:
        """How to name it to a user: the folder name, or ``{run_id}/{temp file}``."""
        return f"{self.path.parent.name}/{self.path.name}" if self.kind in ("temp", "upload") else self.path.name


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


def _read_json(path: Path) -> Any:
    """The parsed JSON of a file (never through a link), or None when it is absent or unreadable."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as f:
            return json.loads(f.read())
    except (OSError, ValueError):
        return None


def is_live(doc: object) -> bool:
    """A run whose writer may still be at work: status running and any recorded writer alive (run_is_alive)."""
    return isinstance(doc, dict) and doc.get("status") == runformat.RUNNING and run_is_alive(doc)


def _creation_abandoned(path: Path, now: float) -> bool:
    try:
        if now - os.lstat(path).st_mtime > ABANDONED_AFTER_S:
            return True
    except FileNotFoundError:
        return False  # renamed into place or removed meanwhile
    doc = _read_json(path / METADATA_FILENAME)
    # No readable metadata.json yet: its creator may be writing it, so only the age can tell.
    return isinstance(doc, dict) and not run_is_alive(doc)


def stale_temp_files(folder: Path, names: Iterable[str], live: bool, now: float | None = None) -> list[str]:
    """The temp files among a run folder's ``names`` that no writer will finish: every one when the run is not
    ``live`` (no writer of it lives, or it has ended), else those not written to for ``ABANDONED_AFTER_S``."""
    temps = sorted(name for name in names if name.startswith(TEMP_PREFIX))
    if not live or not temps:
        return temps
    now = time.time() if now is None else now
    stale = []
    for name in temps:
        try:
            if now - os.lstat(folder / name).st_mtime > ABANDONED_AFTER_S:
                stale.append(name)
        except FileNotFoundError:
            continue  # its writer renamed it into place
    return stale


def _temp_leftovers(runs_dir: Path, run_ids: Iterable[str], now: float) -> list[Leftover]:
    found: list[Leftover] = []
    for run_id in sorted(run_ids):
        folder = runs_dir / run_id
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        if any(name.startswith(TEMP_PREFIX) for name in names):
            live = is_live(_read_json(folder / METADATA_FILENAME))
            found.extend(Leftover(folder / name, "temp") for name in stale_temp_files(folder, names, live, now))
    return found


def find_leftovers(runs_dir: Path, *, temp_files: bool = False, now: float | None = None) -> list[Leftover]:
    """Trash, abandoned import and creation folders in the store (one still in use is not listed); with
    ``temp_files``, also the abandoned temp files in every run folder (``verify`` checks those per run)."""
    now = time.time() if now is None else now
    try:
        entries = sorted(os.scandir(runs_dir), key=lambda entry: entry.name)
    except FileNotFoundError:
        return []
    found = []
    run_ids = []
    for entry in entries:
        if not entry.is_dir(follow_symlinks=False):
            continue
        if entry.name.startswith(TRASH_PREFIX):
            found.append(Leftover(Path(entry.path), "trash"))
        elif entry.name.startswith(STAGING_PREFIX) and not _staging_in_use(Path(entry.path)):
            found.append(Leftover(Path(entry.path), "import"))
        elif entry.name.startswith(CREATE_PREFIX) and _creation_abandoned(Path(entry.path), now):
            found.append(Leftover(Path(entry.path), "create"))
        elif RUN_ID_PATTERN.fullmatch(entry.name):
            run_ids.append(entry.name)
    if temp_files:
        found.extend(_temp_leftovers(runs_dir, run_ids, now))
    return found


def finish_leftovers(runs_dir: Path, *, temp_files: bool = False, now: float | None = None) -> list[Leftover]:
    """Delete every leftover (temp files too with ``temp_files``); returns what was removed."""
    removed = []
    for leftover in find_leftovers(runs_dir, temp_files=temp_files, now=now):
        if leftover.kind == "temp":
            with contextlib.suppress(FileNotFoundError):
                os.unlink(leftover.path)
        else:
            remove_tree(leftover.path)
        removed.append(leftover)
    return removed


def store_uploads(store: Store, *, remove: bool = False, now: float | None = None) -> list[Leftover]:
    """The abandoned upload objects of a store without local folders (``Store.abandoned_uploads``), deleted with
    ``remove``; a folder store has none."""
    found = store.remove_abandoned_uploads(now) if remove else store.abandoned_uploads(now)
    return [Leftover(Path(upload.name), "upload") for upload in found]
