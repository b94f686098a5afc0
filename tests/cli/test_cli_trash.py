"""`delete`, `restore`, `trash` and gc's emptying of the trash, run as a user runs them (subprocesses)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from cli_harness import cli, make_run

from pipeline_recorder import LivePipelineRecorder, new_run_id
from shared_backend import shared_store


def listed(base: Path) -> list[str]:
    result = cli("ls", "-b", str(base), "--json")
    assert result.code == 0, result.text
    return [run["run_id"] for run in json.loads(result.out)]


def test_delete_by_prefix_moves_the_run_to_the_trash_and_restore_brings_it_back(tmp_path: Path) -> None:
    rec, other = make_run(tmp_path), make_run(tmp_path)
    before = (rec.run_folder / "metadata.json").read_bytes()
    result = cli("delete", rec.run_id[:8], "-b", str(tmp_path))
    assert result.code == 0, result.text
    assert f"moved to the trash: {rec.run_id}" in result.out
    assert listed(tmp_path) == [other.run_id]
    assert not rec.run_folder.exists()
    assert (tmp_path / "pipeline_runs" / ".trash" / rec.run_id / "metadata.json").read_bytes() == before
    shown = cli("trash", "-b", str(tmp_path))
    assert shown.code == 0 and rec.run_id in shown.out and "1 run(s) in the trash" in shown.out
    assert cli("show", rec.run_id, "-b", str(tmp_path)).code == 3
    result = cli("restore", rec.run_id[:8], "-b", str(tmp_path))
    assert result.code == 0, result.text
    assert f"restored {rec.run_id}" in result.out
    assert (rec.run_folder / "metadata.json").read_bytes() == before
    assert not (rec.run_folder / ".trashed.json").exists()
    assert sorted(listed(tmp_path)) == sorted([rec.run_id, other.run_id])
    assert "the trash is empty" in cli("trash", "-b", str(tmp_path)).out


def test_delete_refuses_a_running_run_with_exit_4_and_still_deletes_the_others(tmp_path: Path) -> None:
    running = make_run(tmp_path, status=None)  # this test process is its live writer
    done = make_run(tmp_path)
    result = cli("delete", running.run_id, done.run_id, "-b", str(tmp_path))
    assert result.code == 4, result.text
    assert "still running" in result.err
    assert listed(tmp_path) == [running.run_id]
    assert cli("delete", "0000dead", "-b", str(tmp_path)).code == 3


def test_gc_delete_empties_the_trash_of_runs_deleted_longer_ago_than_the_age(tmp_path: Path) -> None:
    rec = make_run(tmp_path)
    assert cli("delete", rec.run_id, "-b", str(tmp_path)).code == 0
    kept = cli("gc", "-b", str(tmp_path), "--delete")  # the default age (7d) keeps a run deleted just now
    assert kept.code == 0, kept.text
    assert "emptied 0 from the trash" in kept.out
    dry = cli("gc", "-b", str(tmp_path), "--trash-older-than", "0s")
    assert f"would delete {rec.run_id} from the trash" in dry.out
    assert (tmp_path / "pipeline_runs" / ".trash" / rec.run_id).is_dir()
    done = cli("gc", "-b", str(tmp_path), "--trash-older-than", "0s", "--delete", "--json")
    assert done.code == 0, done.text
    assert json.loads(done.out)["purged"] == [rec.run_id]
    assert not (tmp_path / "pipeline_runs" / ".trash" / rec.run_id).exists()
    assert cli("restore", rec.run_id, "-b", str(tmp_path)).code == 3


def test_delete_restore_and_trash_work_on_the_shared_store(tmp_path: Path) -> None:
    with shared_store(tmp_path) as store:
        rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=store)
        rec.save_entity("input", "Hallo")
        rec.mark_complete()
        env = {name: value for name, value in os.environ.items() if name.startswith(("AWS_", "PIPELINE_RECORDER_"))}
        on_store = ("--store", store.url)
        assert cli("delete", rec.run_id[:8], *on_store, env=env).code == 0
        assert not store.run_exists(rec.run_id)
        assert rec.run_id in cli("trash", *on_store, env=env).out
        assert cli("restore", rec.run_id[:8], *on_store, env=env).code == 0
        assert store.run_exists(rec.run_id)
