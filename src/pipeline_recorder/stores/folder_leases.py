"""The folder store's leases of remote writers: ``.leases.json`` in the run folder (holder -> when the lease ends,
seconds since the epoch), changed under its own lock file ``.leases.lock`` -- not the run lock, so a lease may be
renewed from inside a run transaction. An unreadable file reads as no leases.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

from ..atomic import replace_atomically
from ..errors import RecorderError, RunNotFoundError
from ..locking import RunLock
from ..naming import METADATA_FILENAME, validate_run_id
from . import folder_files
from .folder_layout import LEASES_FILENAME, LEASES_LOCK_FILENAME


def read_leases(runs_dir: str, run_id: str) -> dict[str, float]:
    try:
        with folder_files.run_folder_fd(runs_dir, run_id) as dir_fd:
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


def change_leases(runs_dir: Path, run_id: str, change: Callable[[dict[str, float]], None]) -> None:
    """``change(leases)`` on the run's leases as stored, then stored. RunNotFoundError."""
    folder = runs_dir / validate_run_id(run_id)
    if not (folder / METADATA_FILENAME).is_file() or folder.is_symlink():
        raise RunNotFoundError(f"run {run_id!r} not found in {runs_dir}")
    lock = RunLock(folder, LEASES_LOCK_FILENAME)
    try:
        with lock.held():
            leases = read_leases(str(runs_dir), run_id)
            change(leases)
            replace_atomically(folder / LEASES_FILENAME, json.dumps(leases, sort_keys=True).encode(),
                               sync_dir=False)
    finally:
        lock.close()


def renew_lease(runs_dir: Path, run_id: str, holder: str, ttl_seconds: float) -> None:
    ends = time.time() + float(ttl_seconds)
    change_leases(runs_dir, run_id, lambda leases: leases.__setitem__(str(holder), ends))


def release_lease(runs_dir: Path, run_id: str, holder: str) -> None:
    now = time.time()
    change_leases(runs_dir, run_id, lambda leases: leases.__setitem__(str(holder), min(leases.get(holder, now), now)))
