"""Repair's edge cases and gc's two-step removal, in process."""

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline_recorder import LivePipelineRecorder, RunStore, new_run_id
from pipeline_recorder.ops import leftovers, repair, retention, verify
from pipeline_recorder.ops.timespec import parse_duration
from pipeline_recorder.stores import folder as folder_store


def recorded(base: Path, status: str | None = "completed") -> LivePipelineRecorder:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=base)
    rec.save_entity("input", "Hallo")
    rec.save_entity("translation", "Hello")
    if status:
        rec.finish(status)
    return rec


def test_rebuild_lists_one_file_per_sequence_and_reports_the_duplicate(tmp_path: Path) -> None:
    rec = recorded(tmp_path)
    (rec.run_folder / "02_error.json").write_text("{}")
    (rec.run_folder / "metadata.json").unlink()
    result = repair.repair_run(RunStore(tmp_path), rec.run_id)
    assert any("02_translation.txt was not listed: sequence 2 is taken by 02_error.json" in a
               for a in result.actions)
    doc = RunStore(tmp_path).read_metadata(rec.run_id)
    assert [e["filename"] for e in doc["entities"]] == ["01_input.txt", "02_error.json"]
    assert result.remaining == []  # the duplicate is set aside as a helper file, its bytes kept
    assert (rec.run_folder / ".unacknowledged-02_translation.txt").read_text() == "Hello"


def test_a_live_writer_continues_after_its_metadata_was_rebuilt(tmp_path: Path) -> None:
    rec = recorded(tmp_path, status=None)
    (rec.run_folder / "metadata.json").write_text("{")
    repair.repair_run(RunStore(tmp_path), rec.run_id)
    assert rec.save_entity("interception", "more") == "03_interception.txt"
    assert verify.check_run(RunStore(tmp_path), rec.run_id).clean


def test_remove_run_renames_to_trash_first_so_a_stop_halfway_leaves_only_trash(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rec = recorded(tmp_path, status="failed")
    store = RunStore(tmp_path)
    calls: list[Path] = []

    def stopped(path: Path) -> None:  # the process dies right after the rename
        calls.append(path)
        raise KeyboardInterrupt

    monkeypatch.setattr(folder_store, "remove_tree", stopped)
    with pytest.raises(KeyboardInterrupt):
        retention.remove_run(store, rec.run_id)
    assert calls and calls[0].name.startswith(".trash-") and calls[0].exists()
    assert list(store.run_ids()) == []
    assert [item.kind for item in leftovers.find_leftovers(store.runs_dir)] == ["trash"]
    assert [item.kind for item in leftovers.finish_leftovers(store.runs_dir)] == ["trash"]
    assert os.listdir(store.runs_dir) == []


def test_an_import_in_progress_is_not_a_leftover_but_an_abandoned_one_is(tmp_path: Path) -> None:
    runs = tmp_path / "pipeline_runs"
    runs.mkdir()
    with leftovers.staging_folder(runs) as staging:
        assert leftovers.find_leftovers(runs) == []
        abandoned = runs / ".import-dead"
        abandoned.mkdir()
        assert [item.path for item in leftovers.find_leftovers(runs)] == [abandoned]
    assert not staging.exists()


def test_plan_gc_uses_the_last_change_for_age_and_spares_running_runs(tmp_path: Path) -> None:
    old = recorded(tmp_path)
    doc = json.loads((old.run_folder / "metadata.json").read_bytes())
    doc["updated_at"] = "2020-01-01T00:00:00+00:00"
    (old.run_folder / "metadata.json").write_text(json.dumps(doc))
    running = recorded(tmp_path, status=None)
    recorded(tmp_path)
    plan = retention.plan_gc(RunStore(tmp_path), retention.GcRules(older_than=parse_duration("30d")),
                             now=datetime.now(UTC))
    assert [d.run_id for d in plan.remove] == [old.run_id]
    assert plan.spared_running == [running.run_id]
