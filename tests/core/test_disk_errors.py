"""The disk refuses a write (full, read-only): a StorageError, the run's earlier state intact, the recorder usable."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from core_helpers import WORKERS, check_run, entity_files, temp_files

from pipeline_recorder import LivePipelineRecorder, StorageError, atomic
from pipeline_recorder.stores.folder_document import SPARE_FILENAME


def fail_at(real: Callable[..., Any], call: int, code: int,
            when: Callable[..., bool] = lambda *a: True) -> Callable[..., Any]:
    """``real``, except that its ``call``-th matching call raises OSError(code)."""
    seen = [0]

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if when(*args):
            seen[0] += 1
            if seen[0] == call:
                raise OSError(code, os.strerror(code))
        return real(*args, **kwargs)

    return wrapper


def is_metadata(src: object, dst: object) -> bool:
    return str(dst).endswith("metadata.json")


def is_swap(first: object, second: object) -> bool:
    return str(second).endswith("metadata.json")


# A fault: the call that fails (of os, or atomic.exchange), which matching call, the errno, which calls match, and
# how metadata.json is being written (stores/folder_document.py): whole into a new file renamed into place (a reader
# holds the spare copy, and the version before was another writer's), whole into a new file swapped with the old one
# (a reader holds the spare copy), or in place into the spare copy, then swapped.
RENAMED, SWAPPED, IN_PLACE = "whole, renamed", "whole, swapped", "in place"
FAULTS = {
    "entity write, disk full": ("writev", 1, errno.ENOSPC, None, RENAMED),
    "metadata write, disk full": ("writev", 2, errno.ENOSPC, None, RENAMED),
    "entity fsync, I/O error": ("fsync", 1, errno.EIO, None, RENAMED),
    "metadata fsync, disk full": ("fsync", 2, errno.ENOSPC, None, RENAMED),
    "metadata rename, read-only": ("replace", 1, errno.EROFS, is_metadata, RENAMED),
    "entity rename, read-only": ("replace", 1, errno.EROFS, None, RENAMED),
    "temp create, read-only": ("open", 1, errno.EROFS, lambda path, *a: ".tmp-" in str(path), RENAMED),
    "metadata written whole, disk full": ("writev", 2, errno.ENOSPC, None, SWAPPED),
    "metadata swapped in, read-only": ("exchange", 1, errno.EROFS, is_metadata, SWAPPED),
    "header written in place, I/O error": ("pwritev", 1, errno.EIO, None, IN_PLACE),
    "records written in place, disk full": ("pwritev", 2, errno.ENOSPC, None, IN_PLACE),
    "in-place fdatasync, I/O error": ("fdatasync", 1, errno.EIO, None, IN_PLACE),
    "spare swapped in, read-only": ("exchange", 1, errno.EROFS, is_metadata, IN_PLACE),
}


@contextlib.contextmanager
def spare_held(folder: Path) -> Iterator[None]:
    """A reader holding the document's previous version open: the next change cannot be made in place."""
    with open(folder / SPARE_FILENAME, "rb"):
        yield


@pytest.mark.parametrize("fault", FAULTS)
def test_a_refused_write_raises_storage_error_and_keeps_the_run_as_it_was(
        rec: LivePipelineRecorder, monkeypatch: pytest.MonkeyPatch, fault: str) -> None:
    name, call, code, when, how = FAULTS[fault]
    rec.save_entity("input", "before")
    rec.set_state(1, "translation_and_safety")  # from here on the spare copy exists: changes can be made in place
    if how == RENAMED:
        other = LivePipelineRecorder.open(rec.run_id, base_path=rec.run_folder.parent.parent)
        other.set_state(1, "translation_and_safety")
        other.close()
    metadata = rec.run_folder / "metadata.json"
    before = metadata.read_bytes()
    owner = atomic if name == "exchange" else atomic.os
    monkeypatch.setattr(owner, name, fail_at(getattr(owner, name), call, code, when or (lambda *a: True)))
    with spare_held(rec.run_folder) if how != IN_PLACE else contextlib.nullcontext(), \
            pytest.raises(StorageError) as raised:
        rec.save_entity("translation", "during the fault")
    monkeypatch.undo()
    assert raised.value.errno == code
    assert "save entity 'translation'" in str(raised.value)
    if code == errno.ENOSPC:
        assert "disk is full" in str(raised.value)
    if code == errno.EROFS:
        assert "read-only" in str(raised.value)
    assert metadata.read_bytes() == before
    assert entity_files(rec.run_folder) == ["01_input.txt"]
    assert temp_files(rec.run_folder) == []
    assert rec.get_status()["revision"] == json.loads(before)["revision"]
    # The same recorder works on, numbering after the last listed entity.
    assert rec.save_entity("translation", "after the fault") == "02_translation.txt"
    doc = check_run(rec.run_folder)
    assert [e["filename"] for e in doc["entities"]] == ["01_input.txt", "02_translation.txt"]


def test_a_failed_state_change_leaves_state_on_disk_and_in_memory(rec: LivePipelineRecorder,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    rec.set_state(1, "translation_and_safety")
    monkeypatch.setattr(atomic.os, "writev", fail_at(os.writev, 1, errno.ENOSPC))
    with pytest.raises(StorageError, match="disk is full"):
        rec.set_state(2, "interception")
    with pytest.raises(StorageError):
        monkeypatch.setattr(atomic.os, "writev", fail_at(os.writev, 1, errno.ENOSPC))
        rec.mark_complete()
    monkeypatch.undo()
    status = rec.get_status()
    assert status["current_state"]["stage"] == 1 and status["status"] == "running"
    rec.mark_complete()
    assert rec.get_status()["status"] == "completed"


def test_when_only_the_folder_fsync_fails_the_committed_entity_stays_listed_and_on_disk(
        rec: LivePipelineRecorder, monkeypatch: pytest.MonkeyPatch) -> None:
    rec.save_entity("input", "before")
    monkeypatch.setattr(atomic, "fsync_dir", fail_at(atomic.fsync_dir, 1, errno.EIO))
    with pytest.raises(StorageError):
        rec.save_entity("translation", "renamed, then the fsync failed")
    monkeypatch.undo()
    # metadata.json was replaced (the rename is the commit point), so its entity must exist.
    doc = check_run(rec.run_folder)
    assert [e["filename"] for e in doc["entities"]] == ["01_input.txt", "02_translation.txt"]
    assert rec.save_entity("safety", {"ok": True}) == "03_safety.json"


@pytest.mark.slow
def test_a_real_full_then_read_only_tmpfs(tmp_path: Path) -> None:
    """In a private mount namespace: a 1 MiB tmpfs fills up, then is remounted read-only, then writable.

    Needs Linux with util-linux ``unshare`` and user namespaces (no root needed, nothing mounted outside).
    """
    assert shutil.which("unshare"), "util-linux unshare is needed for the real-tmpfs test"
    proc = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", sys.executable, str(WORKERS),
                           "diskfull", str(tmp_path / "mnt")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.splitlines()[-1])
    assert report["full_errno"] == errno.ENOSPC and report["full_is_oserror"]
    assert "disk is full" in report["full_message"]
    # Nothing acknowledged was lost, nothing half-written is listed, no temp file was left.
    assert report["listed_after_full"] == report["acked_before_full"]
    assert report["files_after_full"] == sorted([*report["acked_before_full"], "metadata.json"])
    assert report["temp_files_after_full"] == []
    assert report["empty_errno"] == errno.ENOSPC
    assert report["listed_after_empty"] == report["acked_before_full"]
    assert report["files_after_empty"] == report["files_after_full"]  # no temp file, no unlisted entity
    assert report["ro_errno"] == errno.EROFS and "read-only" in report["ro_message"]
    assert report["ro_status_entities"] == len(report["acked_before_full"]) + 1
    assert report["final_ok"]
    assert [f[0] for f in report["final"]] == [*report["acked_before_full"], report["after_room"],
                                               report["after_rw"]]
