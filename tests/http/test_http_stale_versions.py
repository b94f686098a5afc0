"""A metadata.json replaced with the same inode, size, mtime and ctime as the version before (ext4 reuses a freed
inode at once; both writes within one timestamp tick) is still read anew by every cached reader: /status and the
change feed see the run's last change, even when no further change follows to give it away."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from http_runs import running_run

from pipeline_recorder import RunStore
from pipeline_recorder.events import END, Event, follow_sync
from pipeline_recorder.http.handlers import Api
from pipeline_recorder.http.request import HeaderMap, Request
from pipeline_recorder.http.settings import Settings
from support import wait_until


class _SameSignature:
    """A stat result of the new file that reports the old version's inode, size, mtime and ctime."""

    def __init__(self, real: os.stat_result, frozen: os.stat_result) -> None:
        self._real, self._frozen = real, frozen

    def __getattr__(self, name: str) -> Any:
        if name in ("st_ino", "st_size", "st_mtime", "st_mtime_ns", "st_ctime", "st_ctime_ns"):
            return getattr(self._frozen, name)
        return getattr(self._real, name)


def freeze_signature(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """From now on every stat of ``path`` (by name or by open descriptor) reports its current signature."""
    target = os.path.realpath(path)  # tmp_path is resolved, so the readers name the file by this path too
    frozen = os.stat(target)
    real_stat, real_lstat, real_fstat = os.stat, os.lstat, os.fstat

    def names_target(where: Any) -> bool:
        # abspath, not realpath: realpath would call the patched lstat again.
        return isinstance(where, str | os.PathLike) and os.path.abspath(where) == target

    def fake_stat(where: Any, *args: Any, **kwargs: Any) -> Any:
        result = real_stat(where, *args, **kwargs)
        return _SameSignature(result, frozen) if names_target(where) else result

    def fake_lstat(where: Any, *args: Any, **kwargs: Any) -> Any:
        result = real_lstat(where, *args, **kwargs)
        return _SameSignature(result, frozen) if names_target(where) else result

    def fake_fstat(fd: int) -> Any:
        result = real_fstat(fd)
        try:
            opened = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            return result
        return _SameSignature(result, frozen) if opened == target else result

    monkeypatch.setattr(os, "stat", fake_stat)
    monkeypatch.setattr(os, "lstat", fake_lstat)
    monkeypatch.setattr(os, "fstat", fake_fstat)



def test_status_serves_the_final_document_after_a_replacement_with_the_same_signature(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rec = running_run(tmp_path)
    rec.save_entity("input", "Hallo")
    api = Api(Settings(base_path=tmp_path))

    def status(*headers: tuple[bytes, bytes]) -> Any:
        return api.status(Request("GET", {"run_id": rec.run_id}, {}, HeaderMap(headers)))

    try:
        first = status()
        assert first.status == 200 and json.loads(first.body)["status"] == "running"  # type: ignore[arg-type]
        freeze_signature(monkeypatch, rec.run_folder / "metadata.json")
        rec.mark_complete()
        after = status()
        assert json.loads(after.body)["status"] == "completed"  # type: ignore[arg-type]
        assert after.headers["ETag"] != first.headers["ETag"]
        assert status((b"if-none-match", first.headers["ETag"].encode())).status == 200
    finally:
        api.close()


def test_the_change_feed_ends_after_a_final_replacement_with_the_same_signature(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rec = running_run(tmp_path)
    rec.save_entity("input", "Hallo")
    received: list[Event] = []
    stop = threading.Event()

    def follow() -> None:
        for event in follow_sync(RunStore(tmp_path), rec.run_id, stop=stop):
            received.append(event)

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    try:
        wait_until(lambda: any(e.event == "entity" for e in received), what="the first entity event")
        freeze_signature(monkeypatch, rec.run_folder / "metadata.json")
        rec.mark_complete()
        wait_until(lambda: any(e.event == END for e in received), timeout=10,
                   what="an end event after the run completed")
    finally:
        stop.set()
        follower.join(timeout=10)
    assert received[-1] == Event(received[-1].id, END, {"status": "completed"})
