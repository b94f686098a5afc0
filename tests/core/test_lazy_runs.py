"""Lazy run creation: a recorder made with lazy=True stores nothing until its first write, so a page that was only
opened leaves no run behind; the first entity, step, state, model or annotation creates the run whole."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pipeline_recorder import LivePipelineRecorder, new_run_id
from pipeline_recorder.errors import RunExistsError, RunFinishedError, ValidationError
from pipeline_recorder.stores import Store


def test_opening_and_dropping_a_lazy_recorder_leaves_nothing(any_store: Store, tmp_path: Path) -> None:
    rec = LivePipelineRecorder(new_run_id(), "canvas", "eco", "kids", base_path=any_store, lazy=True,
                               kind="canvas_workflow")
    assert rec.get_status()["status"] == "running" and rec.get_status()["kind"] == "canvas_workflow"
    assert rec.get_entities() == [] and not rec.exists()
    rec.close()
    del rec
    assert list(any_store.run_ids()) == [] and any_store.run_index().query() == ([], None)


def test_a_lazy_recorder_on_a_folder_makes_no_folder(tmp_path: Path) -> None:
    base = tmp_path / "store"
    rec = LivePipelineRecorder("r1", "canvas", "eco", "kids", base_path=base, lazy=True)
    rec.get_status()
    rec.close()
    assert not base.exists() or not any(base.rglob("*"))


@pytest.mark.parametrize("first_write", [
    lambda rec: rec.save_entity("input", "Ein Hund"),
    lambda rec: rec.set_state(1, "translation_and_safety"),
    lambda rec: rec.save_process_step("input", "Ein Hund"),
    lambda rec: rec.set_model("stage1_safety", "ollama/x"),
    lambda rec: rec.annotate(tags=["zoo"]),
    lambda rec: rec.save_error(1, "backend_error", "down"),
])
def test_the_first_write_creates_the_run_whole(any_store: Store, first_write: object) -> None:
    rec = LivePipelineRecorder(new_run_id(), "canvas", "eco", "kids", base_path=any_store, lazy=True,
                               session_id="class-4b")
    first_write(rec)  # type: ignore[operator]
    assert any_store.run_exists(rec.run_id)
    doc = json.loads(any_store.read_document_bytes(rec.run_id))
    assert (doc["config_name"], doc["session_id"], doc["status"]) == ("canvas", "class-4b", "running")
    [summary], _ = any_store.run_index().query(session_id="class-4b")
    assert summary["run_id"] == rec.run_id


def test_ending_a_lazy_run_before_anything_was_recorded_stores_nothing(base: Path) -> None:
    rec = LivePipelineRecorder("r1", "canvas", "eco", "kids", base_path=base, lazy=True)
    rec.mark_cancelled("page closed")
    rec.mark_cancelled()  # the same end again: no change
    assert rec.get_status()["status"] == "cancelled"
    with pytest.raises(RunFinishedError, match="never stored"):
        rec.save_entity("input", "late")
    with pytest.raises(RunFinishedError):
        rec.mark_complete()
    assert not (base / "pipeline_runs" / "r1").exists()


def test_a_lazy_recorder_checks_its_settings_at_once_and_attaches_to_an_existing_run(base: Path) -> None:
    with pytest.raises(ValidationError):
        LivePipelineRecorder("r1", "canvas", "eco", "kids", base_path=base, lazy=True, kind="Bad Kind")
    LivePipelineRecorder("r1", "canvas", "eco", "kids", base_path=base, kind="latent_lab").save_entity("input", "a")
    other = LivePipelineRecorder("r1", "canvas", "eco", "kids", base_path=base, lazy=True, kind="canvas_workflow")
    with pytest.raises(RunExistsError, match="kind"):
        other.save_entity("input", "b")
    same = LivePipelineRecorder("r1", "canvas", "eco", "kids", base_path=base, lazy=True, kind="latent_lab")
    assert same.save_entity("input", "c") == "02_input.txt"
    assert {"01_input.txt", "02_input.txt"} <= set(os.listdir(base / "pipeline_runs" / "r1"))
