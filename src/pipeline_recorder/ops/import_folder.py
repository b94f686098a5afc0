"""Placing the runs of a checked export archive into a folder store: extracted into a locked staging folder inside
the store, every size and sha256 checked while copying, then each run renamed into place (never over an existing
folder, ``atomic.rename_noreplace``); a refused or failed import takes back what it placed. Stores without local
folders are filled through the Store interface instead (``import_store.py``)."""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path
from typing import BinaryIO

from .. import atomic
from ..atomic import CHUNK, fsync_dir
from ..errors import ArchiveRefusedError, RunExistsError
from ..naming import PROCESS_DIRNAME
from ..stores.folder import FolderStore
from .archive import MANIFEST_NAME
from .archive_reader import ArchiveReader
from .leftovers import staging_folder


def place_folder_runs(store: FolderStore, reader: ArchiveReader, by_run: dict[str, set[str]],
                      listed: dict[str, tuple[int, str]]) -> None:
    """Copy the checked runs ``by_run`` (run id -> its files) of ``reader``'s archive into ``store``, each file
    checked against ``listed`` (the manifest's size and sha256). ArchiveRefusedError (a member that does not match)
    or RunExistsError (a run exists, or appeared meanwhile): then nothing stays in the store."""
    for run_id in sorted(by_run):
        if os.path.lexists(store.run_folder(run_id)):
            raise RunExistsError(f"run {run_id} already exists in {store.runs_dir}; import never overwrites a run "
                                 "(remove it first, or import into another --base-path); nothing was imported")
    created_runs_dir = not store.runs_dir.exists()
    store.runs_dir.mkdir(parents=True, exist_ok=True)
    placed: list[tuple[Path, Path]] = []
    try:
        with staging_folder(store.runs_dir) as staging:
            with reader.files() as files_iter:
                for name, stream in files_iter:
                    if name == MANIFEST_NAME:
                        continue
                    run_id, filename = name.split("/", 1)
                    (staging / run_id / filename).parent.mkdir(parents=True, exist_ok=True)
                    copy_checked(stream, staging / run_id / filename, *listed[name], name)
            for run_id in sorted(by_run):
                if (staging / run_id / PROCESS_DIRNAME).is_dir():
                    fsync_dir(staging / run_id / PROCESS_DIRNAME)
                fsync_dir(staging / run_id)
            try:
                for run_id in sorted(by_run):
                    # through the module that owns atomic renames (where a test makes a run appear in the way)
                    atomic.rename_noreplace(staging / run_id, store.run_folder(run_id))
                    placed.append((store.run_folder(run_id), staging / run_id))
            except FileExistsError as exc:
                for target, back in reversed(placed):  # take back what this import placed; it is still ours
                    os.rename(target, back)
                placed.clear()
                raise RunExistsError(f"a run appeared at {exc.filename} while importing; nothing was imported") \
                    from None
            fsync_dir(store.runs_dir)
    except BaseException:
        if created_runs_dir and not placed:
            with contextlib.suppress(OSError):
                store.runs_dir.rmdir()
        raise


def copy_checked(stream: BinaryIO, target: Path, size: int, sha: str, name: str) -> None:
    """Copy archive member ``name`` to a new file ``target`` (durably); ArchiveRefusedError unless it is ``size``
    bytes with that ``sha``."""
    digest = hashlib.sha256()
    written = 0
    with open(target, "xb") as out:
        # Never read more than the manifest promises: a member that keeps going is refused, not unpacked.
        while written <= size and (chunk := stream.read(min(CHUNK, size + 1 - written))):
            out.write(chunk)
            digest.update(chunk)
            written += len(chunk)
        out.flush()
        os.fsync(out.fileno())
    if written != size or digest.hexdigest() != sha:
        raise ArchiveRefusedError(f"{name} does not match the size and sha256 in the manifest (tampered or "
                                  "damaged); nothing was imported")
