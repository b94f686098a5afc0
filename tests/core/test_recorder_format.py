"""The on-disk format of DESIGN.md section 2 and the library methods of section 3, checked on disk."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pytest
from core_helpers import check_run, entity_files

from pipeline_recorder import (
    DEFAULT_EXPECTED_OUTPUTS,
    InvalidEntityTypeError,
    LivePipelineRecorder,
    RunExistsError,
    RunFinishedError,
    ValidationError,
    new_run_id,
    runformat,
)

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64


def disk(rec: LivePipelineRecorder) -> dict:
    return json.loads((rec.run_folder / "metadata.json").read_bytes())


def test_a_new_recorder_creates_the_run_folder_with_every_metadata_key(base: Path) -> None:
    run_id = new_run_id()
    rec = LivePipelineRecorder(run_id, "stillepost", "eco", "kids", user_id="alice", base_path=base)
    assert rec.run_folder == base / "pipeline_runs" / run_id
    doc = disk(rec)
    assert list(doc)[: len(runformat.ORIGINAL_KEYS) - 1] == list(runformat.ORIGINAL_KEYS[:-1])
    assert set(runformat.ORIGINAL_KEYS) | {"status", "updated_at", "finished_at", "revision"} <= set(doc)
    assert doc["run_id"] == run_id
    assert (doc["config_name"], doc["execution_mode"], doc["safety_level"], doc["user_id"]) == (
        "stillepost", "eco", "kids", "alice")
    assert doc["expected_outputs"] == list(DEFAULT_EXPECTED_OUTPUTS)
    assert doc["current_state"] == {"stage": 0, "step": "initialized", "progress": "0/6"}
    assert doc["completed_outputs"] == [] and doc["entities"] == []
    assert doc["status"] == "running" and doc["finished_at"] is None and doc["revision"] == 1
    for key in ("timestamp", "updated_at"):
        assert datetime.fromisoformat(doc[key]).utcoffset() is not None, f"{key} has no UTC offset"
    assert rec.get_status() == {**doc, "status": "running"}


def test_entities_get_numbered_filenames_and_complete_records(rec: LivePipelineRecorder) -> None:
    names = [
        rec.save_entity("input", "Ein Häuschen am See"),
        rec.save_entity("translation", "A house by the lake"),
        rec.save_entity("safety", {"safe": True, "level": "kids"}),
        rec.save_entity("interception", "A house by a lake, at dawn", {"model_used": "m", "iterations": 1}),
        rec.save_entity("safety_pre_output", {"safe": True}),
        rec.save_entity("output_image", PNG),
    ]
    assert names == ["01_input.txt", "02_translation.txt", "03_safety.json", "04_interception.txt",
                     "05_safety_pre_output.json", "06_output_image.png"]
    assert entity_files(rec.run_folder) == sorted(names)
    doc = check_run(rec.run_folder)
    assert [e["filename"] for e in doc["entities"]] == names
    first = doc["entities"][0]
    assert set(runformat.ENTITY_KEYS) <= set(first)
    assert first["size"] == len("Ein Häuschen am See".encode()) and first["mime_type"].startswith("text/plain")
    assert doc["entities"][2]["mime_type"] == "application/json"
    assert doc["entities"][3]["metadata"] == {"model_used": "m", "iterations": 1}
    assert doc["entities"][5]["mime_type"] == "image/png"
    assert datetime.fromisoformat(first["timestamp"]).utcoffset() is not None
    assert json.loads((rec.run_folder / "03_safety.json").read_bytes()) == {"safe": True, "level": "kids"}
    assert doc["current_state"]["progress"] == "6/6"


def test_sequences_grow_past_two_digits(rec: LivePipelineRecorder) -> None:
    names = [rec.save_entity("translation", f"t{i}") for i in range(101)]
    assert names[8] == "09_translation.txt" and names[98] == "99_translation.txt"
    assert names[99:] == ["100_translation.txt", "101_translation.txt"]
    assert len(check_run(rec.run_folder)["entities"]) == 101


def test_every_change_raises_the_revision_and_updated_at(rec: LivePipelineRecorder) -> None:
    seen = [disk(rec)]
    rec.save_entity("input", "x")
    seen.append(disk(rec))
    rec.set_state(1, "translation_and_safety")
    seen.append(disk(rec))
    rec.save_error(1, "timeout", "backend did not answer")
    seen.append(disk(rec))
    rec.mark_complete()
    seen.append(disk(rec))
    revisions = [doc["revision"] for doc in seen]
    assert revisions == sorted(set(revisions)), "revision must rise strictly with every change"
    stamps = [datetime.fromisoformat(doc["updated_at"]) for doc in seen]
    assert stamps == sorted(stamps)
    assert [e["revision"] for e in seen[-1]["entities"]] == [seen[1]["revision"], seen[3]["revision"]]


def test_progress_counts_distinct_expected_types_and_never_passes_n(base: Path) -> None:
    rec = LivePipelineRecorder(new_run_id(), "text_only", "eco", "kids", base_path=base,
                               expected_outputs=["input", "translation", "safety", "interception"])
    assert disk(rec)["expected_outputs"] == ["input", "translation", "safety", "interception"]
    assert disk(rec)["current_state"]["progress"] == "0/4"
    rec.save_entity("input", "a")
    rec.save_entity("input", "a again")           # a repeat
    rec.save_error(1, "flaky", "retrying")         # an error
    rec.save_entity("custom_debug", {"x": 1})      # a type nobody expects
    assert disk(rec)["current_state"]["progress"] == "1/4"
    for entity_type in ("translation", "safety", "interception", "interception", "translation"):
        rec.save_entity(entity_type, "t")
        rec.save_error(2, "again", "more errors")
    doc = disk(rec)
    assert doc["current_state"]["progress"] == "4/4"
    assert doc["completed_outputs"] == ["input", "custom_debug", "translation", "safety", "interception"]
    assert "error" not in doc["completed_outputs"]
    rec.mark_complete()
    assert disk(rec)["current_state"]["progress"] == "4/4"


def test_expected_outputs_repeated_types_count_once(base: Path) -> None:
    rec = LivePipelineRecorder(new_run_id(), "c", "eco", "kids", base_path=base,
                               expected_outputs=["input", "input", "output_image"])
    assert disk(rec)["expected_outputs"] == ["input", "output_image"]
    rec.save_entity("input", "x")
    assert disk(rec)["current_state"]["progress"] == "1/2"


def test_bad_expected_outputs_are_refused_before_anything_is_created(base: Path) -> None:
    with pytest.raises(InvalidEntityTypeError):
        LivePipelineRecorder(new_run_id(), "c", "eco", "kids", base_path=base, expected_outputs=["input", "../x"])
    with pytest.raises(ValidationError, match="list of entity types"):
        LivePipelineRecorder(new_run_id(), "c", "eco", "kids", base_path=base, expected_outputs="input")
    assert list(base.iterdir()) == []


def test_set_state_is_written_at_once_and_keeps_progress(rec: LivePipelineRecorder) -> None:
    rec.save_entity("input", "x")
    rec.set_state(2, "interception")
    assert disk(rec)["current_state"] == {"stage": 2, "step": "interception", "progress": "1/6"}
    for stage, step in ((-1, "x"), (100, "x"), (True, "x"), (1, ""), (1, 5), (1, "s" * 129)):
        with pytest.raises(ValidationError):
            rec.set_state(stage, step)  # type: ignore[arg-type]
    assert disk(rec)["current_state"]["stage"] == 2


def test_get_entity_path_gives_the_latest_and_get_entity_paths_all_in_order(rec: LivePipelineRecorder) -> None:
    rec.save_entity("input", "x")
    rec.save_entity("output_image", PNG)
    rec.save_entity("translation", "t")
    rec.save_entity("output_image", PNG + b"2")
    assert rec.get_entity_path("output_image") == rec.run_folder / "04_output_image.png"
    assert rec.get_entity_paths("output_image") == [rec.run_folder / "02_output_image.png",
                                                    rec.run_folder / "04_output_image.png"]
    assert [p.name for p in rec.get_entity_paths()] == ["01_input.txt", "02_output_image.png",
                                                        "03_translation.txt", "04_output_image.png"]
    assert rec.get_entity_path("output_audio") is None
    assert rec.get_entity_paths("output_audio") == []
    with pytest.raises(InvalidEntityTypeError):
        rec.get_entity_path("../x")


def test_save_error_stores_a_json_error_entity(rec: LivePipelineRecorder) -> None:
    name = rec.save_error(3, "safety_timeout", "the checker did not answer", {"after_s": 30})
    assert name == "01_error.json"
    record = json.loads((rec.run_folder / name).read_bytes())
    assert record["stage"] == 3 and record["error_type"] == "safety_timeout"
    assert record["message"] == "the checker did not answer" and record["details"] == {"after_s": 30}
    assert disk(rec)["entities"][0]["metadata"] == {"stage": 3, "error_type": "safety_timeout"}
    with pytest.raises(ValidationError):
        rec.save_error("3", "x", "y")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        rec.save_error(3, "x", None)  # type: ignore[arg-type]
    assert len(disk(rec)["entities"]) == 1


@pytest.mark.parametrize("end, status", [("mark_complete", "completed"), ("mark_failed", "failed"),
                                         ("mark_blocked", "blocked"), ("mark_cancelled", "cancelled")])
def test_ending_a_run_sets_its_status_and_finished_at(rec: LivePipelineRecorder, end: str, status: str) -> None:
    rec.save_entity("input", "x")
    getattr(rec, end)()
    doc = disk(rec)
    assert doc["status"] == status and doc["finished_at"] == doc["updated_at"]
    assert rec.get_status()["status"] == status


def test_ending_twice_the_same_way_changes_nothing_and_another_way_is_refused(rec: LivePipelineRecorder) -> None:
    rec.mark_failed("backend down")
    before = (rec.run_folder / "metadata.json").read_bytes()
    rec.mark_failed("backend down")
    assert (rec.run_folder / "metadata.json").read_bytes() == before
    assert disk(rec)["status_reason"] == "backend down"
    with pytest.raises(RunFinishedError, match="ended with status 'failed'"):
        rec.mark_complete()
    with pytest.raises(RunFinishedError):
        rec.save_entity("input", "late")
    with pytest.raises(RunFinishedError):
        rec.set_state(4, "media_generation")
    with pytest.raises(ValidationError, match="not a terminal status"):
        rec.finish("running")
    assert (rec.run_folder / "metadata.json").read_bytes() == before
    assert entity_files(rec.run_folder) == []
    assert not [n for n in os.listdir(rec.run_folder) if n.startswith(".tmp-")]


def test_get_status_is_a_copy_that_callers_may_change(rec: LivePipelineRecorder) -> None:
    rec.save_entity("input", "x", {"note": "n"})
    status = rec.get_status()
    status["entities"][0]["metadata"]["note"] = "changed"
    status["current_state"]["stage"] = 9
    rec.get_entities()[0]["metadata"]["note"] = "changed too"
    assert rec.get_status()["entities"][0]["metadata"] == {"note": "n"}
    assert rec.get_status()["current_state"]["stage"] == 0
    rec.save_entity("translation", "y")
    assert disk(rec)["entities"][0]["metadata"] == {"note": "n"}


def test_a_second_recorder_with_the_same_settings_attaches_and_other_settings_are_refused(base: Path) -> None:
    run_id = new_run_id()
    first = LivePipelineRecorder(run_id, "stillepost", "eco", "kids", base_path=base)
    first.save_entity("input", "x")
    second = LivePipelineRecorder(run_id, "stillepost", "eco", "kids", base_path=base)
    assert second.save_entity("translation", "y") == "02_translation.txt"
    before = (first.run_folder / "metadata.json").read_bytes()
    with pytest.raises(RunExistsError, match="config_name"):
        LivePipelineRecorder(run_id, "other", "eco", "kids", base_path=base)
    assert (first.run_folder / "metadata.json").read_bytes() == before
    assert [e["filename"] for e in first.get_status()["entities"]] == ["01_input.txt", "02_translation.txt"]


@pytest.mark.parametrize("name, value", [("config_name", ""), ("execution_mode", None), ("safety_level", "x" * 201),
                                         ("user_id", "a\0b")])
def test_bad_run_settings_are_refused_before_anything_is_created(base: Path, name: str, value: object) -> None:
    settings = {"config_name": "c", "execution_mode": "eco", "safety_level": "kids", "user_id": "u", name: value}
    with pytest.raises(ValidationError, match=name):
        LivePipelineRecorder(new_run_id(), base_path=base, **settings)  # type: ignore[arg-type]
    assert list(base.iterdir()) == []


def test_helper_files_start_with_a_dot_and_are_never_entities(rec: LivePipelineRecorder) -> None:
    rec.save_entity("input", "x")
    names = set(os.listdir(rec.run_folder))
    assert names - {"metadata.json", "01_input.txt"} <= {".lock"}
