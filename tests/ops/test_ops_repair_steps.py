"""verify --repair rebuilds the prompting process's list from its step files (prompting_process/NNN_type.ext), as
it rebuilds the entity list: the steps are listed again, byte-checked here against the files themselves."""

import hashlib
import json
import os
from pathlib import Path

from pipeline_recorder import LivePipelineRecorder, RunStore, new_run_id
from pipeline_recorder.ops import repair, verify

STEPS = [("prompt_edit", "a cat"), ("parameters", json.dumps({"seed": 7})), ("prompt_edit", "a cat on a mat")]


def with_steps(base: Path) -> LivePipelineRecorder:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=base)
    rec.save_entity("input", "Hallo")
    for entity_type, content in STEPS:
        rec.save_process_step(entity_type, content, {"by": "test"})
    rec.finish("completed")
    return rec


def on_disk(folder: Path) -> list[tuple[str, int, str]]:
    """(name, size, sha256) of every step file, read here from the files (the oracle)."""
    process = folder / "prompting_process"
    return [(f"prompting_process/{name}", len(data := (process / name).read_bytes()), hashlib.sha256(data).hexdigest())
            for name in sorted(os.listdir(process))]


def test_a_corrupt_metadata_json_is_rebuilt_with_the_steps_of_the_prompting_process(tmp_path: Path) -> None:
    rec = with_steps(tmp_path)
    recorded = rec.get_process_steps()
    (rec.run_folder / "metadata.json").write_text('{"run_id": "trunc')
    store = RunStore(tmp_path)
    assert not verify.check_run(store, rec.run_id).clean
    result = repair.repair_run(store, rec.run_id)
    assert any("from 1 entity file(s) and 3 step file(s)" in action for action in result.actions)
    assert result.remaining == []
    steps = store.read_metadata(rec.run_id)["prompting_process"]
    assert [(s["filename"], s["size"], s["sha256"]) for s in steps] == on_disk(rec.run_folder)
    assert on_disk(rec.run_folder)[0][0] == "prompting_process/001_prompt_edit.txt"
    assert [(s["sequence"], s["type"]) for s in steps] == [(1, "prompt_edit"), (2, "parameters"), (3, "prompt_edit")]
    assert [s["mime_type"] for s in steps] == [s["mime_type"] for s in recorded]  # as the save recorded them
    # Their own revisions, after the entities', and the document's revision past them all.
    doc = store.read_metadata(rec.run_id)
    revisions = [e["revision"] for e in doc["entities"]] + [s["revision"] for s in steps]
    assert revisions == [1, 2, 3, 4] and doc["revision"] > 4
    assert verify.check_run(store, rec.run_id).clean


def test_a_step_unchanged_since_a_malformed_document_keeps_its_metadata(tmp_path: Path) -> None:
    rec = with_steps(tmp_path)
    doc = json.loads((rec.run_folder / "metadata.json").read_bytes())
    doc["status"] = "exploded"  # parses, but breaks the format
    doc["prompting_process"][1]["sha256"] = "0" * 64  # this step's bytes no longer match what the list said
    (rec.run_folder / "metadata.json").write_text(json.dumps(doc))
    repair.repair_run(RunStore(tmp_path), rec.run_id)
    steps = RunStore(tmp_path).read_metadata(rec.run_id)["prompting_process"]
    assert [s["metadata"] for s in steps] == [{"by": "test"}, {"recovered": True}, {"by": "test"}]


def test_two_step_files_of_one_sequence_list_one_and_note_the_other(tmp_path: Path) -> None:
    rec = with_steps(tmp_path)
    (rec.run_folder / "prompting_process" / "002_error.json").write_text("{}")
    (rec.run_folder / "metadata.json").unlink()
    result = repair.repair_run(RunStore(tmp_path), rec.run_id)
    assert "prompting_process/002_parameters.txt was not listed: sequence 2 is taken by " \
           "prompting_process/002_error.json" in result.actions
    steps = RunStore(tmp_path).read_metadata(rec.run_id)["prompting_process"]
    assert [s["filename"] for s in steps] == ["prompting_process/001_prompt_edit.txt",
                                              "prompting_process/002_error.json",
                                              "prompting_process/003_prompt_edit.txt"]


def test_a_prompting_process_folder_that_is_a_link_is_not_followed(tmp_path: Path) -> None:
    rec = with_steps(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    (rec.run_folder / "prompting_process").rename(elsewhere)
    (rec.run_folder / "prompting_process").symlink_to(elsewhere)
    (rec.run_folder / "metadata.json").unlink()
    repair.repair_run(RunStore(tmp_path), rec.run_id)
    assert RunStore(tmp_path).read_metadata(rec.run_id)["prompting_process"] == []
