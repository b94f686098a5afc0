"""A run whose writing process died reads as `interrupted` to everyone; a live one reads as `running`."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from core_helpers import read_json_line, spawn

from pipeline_recorder import RunStore, load_recorder, new_run_id
from pipeline_recorder.registry import clear_registry
from support import wait_until


def statuses(base: Path, run_id: str) -> dict[str, str]:
    """The status as each reader reports it; the file on disk keeps saying what the writer wrote."""
    clear_registry()
    loaded = load_recorder(run_id, base_path=base)
    assert loaded is not None
    return {
        "get_status": loaded.get_status()["status"],
        "load_recorder": load_recorder(run_id, base_path=base).get_status()["status"],  # type: ignore[union-attr]
        "RunStore": RunStore(base).read_metadata(run_id)["status"],
        "on disk": json.loads((RunStore(base).run_folder(run_id) / "metadata.json").read_bytes())["status"],
    }


def test_a_live_writer_reads_running_and_a_killed_one_interrupted(base: Path) -> None:
    run_id = new_run_id()
    writer = spawn("hold", base, run_id)
    try:
        assert "ready" in read_json_line(writer)
        watcher = load_recorder(run_id, base_path=base)
        assert watcher is not None
        assert set(statuses(base, run_id).values()) == {"running"}
        writer.kill()
        writer.wait()
        assert statuses(base, run_id) == {"get_status": "interrupted", "load_recorder": "interrupted",
                                          "RunStore": "interrupted", "on disk": "running"}
        assert watcher.get_status()["status"] == "interrupted"  # a recorder loaded before the kill, too
    finally:
        writer.kill()
        writer.wait()


def test_a_killed_writer_not_yet_reaped_already_reads_interrupted(base: Path) -> None:
    run_id = new_run_id()
    writer = spawn("hold", base, run_id)
    try:
        assert "ready" in read_json_line(writer)
        os.kill(writer.pid, signal.SIGKILL)  # no wait(): the process stays a zombie
        wait_until(lambda: RunStore(base).read_metadata(run_id)["status"] == "interrupted")
        # ... while it is still a zombie (not reaped: its pid and start time are still in /proc).
        assert Path(f"/proc/{writer.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    finally:
        writer.wait()


def test_a_run_ended_by_its_writer_keeps_its_status_after_the_writer_exits(base: Path) -> None:
    run_id = new_run_id()
    writer = spawn("hold", base, run_id)
    assert "ready" in read_json_line(writer)
    assert writer.stdin is not None
    writer.stdin.write("complete\n")
    writer.stdin.flush()
    assert read_json_line(writer) == {"done": True}
    assert writer.wait() == 0
    assert set(statuses(base, run_id).values()) == {"completed"}


def test_a_run_continued_by_a_live_process_reads_running_after_its_creator_died(base: Path) -> None:
    run_id = new_run_id()
    creator = spawn("hold", base, run_id)
    assert "ready" in read_json_line(creator)
    creator.kill()
    creator.wait()
    assert statuses(base, run_id)["RunStore"] == "interrupted"
    # This (live) process continues the run: it is running again, and the file records both writers.
    continued = load_recorder(run_id, base_path=base)
    assert continued is not None
    continued.save_entity("translation", "continued")
    assert set(statuses(base, run_id).values()) == {"running"}
    doc = json.loads((continued.run_folder / "metadata.json").read_bytes())
    assert doc["owner"]["pid"] == os.getpid()
    assert [w["pid"] for w in doc["writers"]] == [creator.pid, os.getpid()]
