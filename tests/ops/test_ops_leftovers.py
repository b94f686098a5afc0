"""What killed writers leave in the store -- `.create-*` staging folders of a run being created, `.tmp-*` files in
run folders -- is reported by verify and removed by verify --repair and gc once its writer is gone or it is older
than an hour; what a live writer is still working on is left alone."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline_recorder import LivePipelineRecorder, RunStore, new_run_id
from pipeline_recorder.ops import leftovers, repair, verify

HOUR_AND_A_BIT = 3700

# A creator killed (SIGKILL) between writing the new run's metadata.json and renaming its folder into place.
KILLED_CREATOR = """
import os, signal, sys
import pipeline_recorder.recorder as recorder
def die(*args):
    os.kill(os.getpid(), signal.SIGKILL)
recorder.os.rename = die
recorder.LivePipelineRecorder(sys.argv[1], "stillepost", "eco", "kids", base_path=sys.argv[2])
"""


def killed_creation(base: Path) -> Path:
    run_id = new_run_id()
    done = subprocess.run([sys.executable, "-c", KILLED_CREATOR, run_id, str(base)], timeout=60)
    assert done.returncode == -9
    [staging] = [p for p in (base / "pipeline_runs").iterdir() if p.name.startswith(".create-")]
    assert json.loads((staging / "metadata.json").read_bytes())["run_id"] == run_id
    return staging


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def store_findings(base: Path) -> list[tuple[str, str]]:
    return [(f.code, f.path.name if f.path else "") for f in verify.check_store(RunStore(base)).store_findings]


def test_a_killed_creators_staging_folder_is_reported_and_removed_by_repair(tmp_path: Path) -> None:
    staging = killed_creation(tmp_path)
    assert store_findings(tmp_path) == [(verify.LEFTOVER, staging.name)]
    assert "creator stopped" in verify.check_store(RunStore(tmp_path)).store_findings[0].message
    assert repair.repair_leftovers(RunStore(tmp_path)) == [f"removed {staging.name} (left by an interrupted run "
                                                           "creation)"]
    assert not staging.exists()
    assert verify.check_store(RunStore(tmp_path)).clean


def test_gc_removes_a_killed_creators_staging_folder_and_a_dry_run_only_lists_it(tmp_path: Path) -> None:
    staging = killed_creation(tmp_path)
    runs_dir = tmp_path / "pipeline_runs"
    assert [(item.kind, item.path) for item in leftovers.find_leftovers(runs_dir, temp_files=True)] == \
        [("create", staging)]
    assert staging.exists()
    assert [item.kind for item in leftovers.finish_leftovers(runs_dir, temp_files=True)] == ["create"]
    assert os.listdir(runs_dir) == []


def test_a_staging_folder_of_a_live_creator_is_left_until_it_is_an_hour_old(tmp_path: Path) -> None:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=tmp_path)
    runs_dir = rec.run_folder.parent
    staging = runs_dir / f".create-{rec.run_id}x-0123456789ab"
    staging.mkdir()  # a copy of a real staging folder, its creator (this process) alive
    (staging / "metadata.json").write_bytes((rec.run_folder / "metadata.json").read_bytes())
    half_made = runs_dir / ".create-other-0123456789ab"
    half_made.mkdir()  # killed before its metadata.json was written: its creator is unknown
    assert leftovers.find_leftovers(runs_dir) == []
    age(staging, HOUR_AND_A_BIT)
    age(half_made, HOUR_AND_A_BIT)
    assert {item.path for item in leftovers.find_leftovers(runs_dir)} == {half_made, staging}


@pytest.fixture
def live_run(tmp_path: Path) -> LivePipelineRecorder:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=tmp_path)
    rec.save_entity("input", "Hallo")
    return rec


def test_a_live_runs_temp_file_untouched_for_an_hour_is_reported_and_repaired_a_fresh_one_kept(
        tmp_path: Path, live_run: LivePipelineRecorder) -> None:
    folder = live_run.run_folder
    (folder / ".tmp-fresh").write_bytes(b"being written")
    (folder / ".tmp-stale").write_bytes(b"abandoned")
    age(folder / ".tmp-stale", HOUR_AND_A_BIT)
    check = verify.check_run(RunStore(tmp_path), live_run.run_id)
    assert check.live
    assert [(f.code, f.path.name if f.path else "") for f in check.findings] == [(verify.TEMP_FILE, ".tmp-stale")]
    assert "untouched for over an hour" in check.findings[0].message
    assert check.notes == ["1 temp file(s) belong to the live writer and are not leftovers"]
    result = repair.repair_run(RunStore(tmp_path), live_run.run_id)
    assert result.actions == ["removed leftover temp file .tmp-stale"] and result.remaining == []
    assert sorted(n for n in os.listdir(folder) if n.startswith(".tmp-")) == [".tmp-fresh"]
    assert live_run.save_entity("translation", "Hello") == "02_translation.txt"  # the writer carries on


def test_gc_removes_temp_files_of_ended_runs_and_stale_ones_of_live_runs_only(
        tmp_path: Path, live_run: LivePipelineRecorder) -> None:
    ended = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=tmp_path)
    ended.mark_complete()
    (ended.run_folder / ".tmp-left").write_bytes(b"x")
    (live_run.run_folder / ".tmp-fresh").write_bytes(b"x")
    (live_run.run_folder / ".tmp-stale").write_bytes(b"x")
    age(live_run.run_folder / ".tmp-stale", HOUR_AND_A_BIT)
    runs_dir = tmp_path / "pipeline_runs"
    expected = sorted([f"{ended.run_id}/.tmp-left", f"{live_run.run_id}/.tmp-stale"])
    assert sorted(item.name for item in leftovers.find_leftovers(runs_dir, temp_files=True)) == expected
    assert leftovers.find_leftovers(runs_dir) == []  # verify finds these per run, not as store leftovers
    assert sorted(item.name for item in leftovers.finish_leftovers(runs_dir, temp_files=True)) == expected
    assert not (ended.run_folder / ".tmp-left").exists() and not (live_run.run_folder / ".tmp-stale").exists()
    assert (live_run.run_folder / ".tmp-fresh").exists()
