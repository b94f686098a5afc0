"""The prompting process: steps saved beside the main entities, in prompting_process/ with their own sequence,
listed in metadata.json, opened as safely as entities (never through a link), checked by verify and carried by
export and import."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pipeline_recorder import LivePipelineRecorder, new_run_id
from pipeline_recorder.errors import EntityNotFoundError, RecorderError, RunFinishedError
from pipeline_recorder.ops.archive import export_runs
from pipeline_recorder.ops.importing import import_archive
from pipeline_recorder.ops.verify import ENTITY_HASH, ENTITY_NOT_REGULAR, UNEXPECTED_FILE, UNLISTED_ENTITY, check_run
from pipeline_recorder.stores import FolderStore, Store

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
       b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND"
       b"\xaeB`\x82")


def with_steps(store: Store | Path) -> LivePipelineRecorder:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=store)
    rec.save_entity("input", "Ein Hund")
    rec.save_process_step("input", "Ein kleiner Hund")
    rec.save_process_step("parameters", {"seed": 7, "style": "watercolour"})
    rec.save_entity("translation", "A dog")
    rec.save_process_step("output_image", PNG, {"try": 1})
    return rec


def test_steps_have_their_own_sequence_and_the_entities_keep_theirs(any_store: Store) -> None:
    rec = with_steps(any_store)
    status = rec.get_status()
    assert [e["filename"] for e in status["entities"]] == ["01_input.txt", "02_translation.txt"]
    steps = status["prompting_process"]
    assert [s["filename"] for s in steps] == ["prompting_process/001_input.txt",
                                              "prompting_process/002_parameters.json",
                                              "prompting_process/003_output_image.png"]
    assert [s["sequence"] for s in steps] == [1, 2, 3]
    assert steps[2]["mime_type"] == "image/png" and steps[2]["metadata"] == {"try": 1}
    assert status["current_state"]["progress"] == "2/6"  # steps are not outputs
    with any_store.open_entity(rec.run_id, steps[0]).file as f:
        assert f.read() == b"Ein kleiner Hund"
    with any_store.open_entity(rec.run_id, steps[1]).file as f:
        assert json.loads(f.read()) == {"seed": 7, "style": "watercolour"}
    assert {f.name for f in any_store.stored_files(rec.run_id)} >= {s["filename"] for s in steps}


def test_a_new_run_lists_an_empty_prompting_process(base: Path) -> None:
    rec = LivePipelineRecorder("r1", "stillepost", "eco", "kids", base_path=base)
    assert json.loads((rec.run_folder / "metadata.json").read_text())["prompting_process"] == []
    assert not (rec.run_folder / "prompting_process").exists()


def test_steps_are_files_of_the_subfolder_on_disk(base: Path) -> None:
    rec = with_steps(base)
    assert (rec.run_folder / "prompting_process" / "001_input.txt").read_text() == "Ein kleiner Hund"
    assert (rec.run_folder / "prompting_process" / "003_output_image.png").read_bytes() == PNG


def test_an_ended_run_takes_no_more_steps(base: Path) -> None:
    rec = LivePipelineRecorder("r1", "stillepost", "eco", "kids", base_path=base)
    rec.mark_complete()
    with pytest.raises(RunFinishedError):
        rec.save_process_step("input", "late")
    assert not (rec.run_folder / "prompting_process").exists()


def test_a_step_is_never_read_through_a_linked_or_replaced_folder(base: Path, tmp_path: Path) -> None:
    rec = with_steps(base)
    step = rec.get_process_steps()[0]
    folder = rec.run_folder / "prompting_process"
    elsewhere = tmp_path / "elsewhere"
    os.rename(folder, elsewhere)  # the same files, now behind a link
    os.symlink(elsewhere, folder)
    store = FolderStore(base)
    with pytest.raises(EntityNotFoundError, match="link"):
        store.open_entity(rec.run_id, step)
    findings = check_run(store, rec.run_id).findings
    assert [(f.code, "lies behind a link" in f.message) for f in findings if f.code == ENTITY_NOT_REGULAR] == \
        [(ENTITY_NOT_REGULAR, True)] * 3
    assert any(f.code == UNEXPECTED_FILE and "prompting_process" in f.message for f in findings)
    with pytest.raises(RecorderError, match="link"):
        rec.save_process_step("input", "through the link")
    assert sorted(os.listdir(elsewhere)) == ["001_input.txt", "002_parameters.json", "003_output_image.png"]
    os.unlink(folder)
    folder.write_text("not a folder")  # replaced by a file
    with pytest.raises(EntityNotFoundError):
        store.open_entity(rec.run_id, step)


def test_a_step_file_that_is_a_link_is_refused(base: Path, tmp_path: Path) -> None:
    rec = with_steps(base)
    step = rec.get_process_steps()[0]
    target = rec.run_folder / "prompting_process" / "001_input.txt"
    secret = tmp_path / "secret.txt"
    secret.write_text("Ein kleiner Hund")  # same size: only the link check stops it
    target.unlink()
    os.symlink(secret, target)
    with pytest.raises(EntityNotFoundError, match="not a regular file"):
        FolderStore(base).open_entity(rec.run_id, step)


def test_a_record_naming_a_file_outside_the_folder_is_refused(base: Path) -> None:
    rec = with_steps(base)
    for name in ("prompting_process/../metadata.json", "other/001_input.txt", "prompting_process/a/001_x.txt"):
        with pytest.raises(EntityNotFoundError):
            FolderStore(base).open_entity(rec.run_id, {"filename": name, "size": 10})


def test_verify_checks_each_step_against_its_record(base: Path) -> None:
    rec = with_steps(base)
    store = FolderStore(base)
    assert check_run(store, rec.run_id).findings == []
    (rec.run_folder / "prompting_process" / "001_input.txt").write_text("Ein kleiner Hunx")  # same size
    [finding] = check_run(store, rec.run_id).findings
    assert finding.code == ENTITY_HASH and "prompting_process/001_input.txt" in finding.message


def test_export_and_import_carry_the_steps_byte_for_byte(base: Path, tmp_path: Path) -> None:
    rec = with_steps(base)
    archive = tmp_path / "runs.zip"
    export_runs(FolderStore(base), [rec.run_id], archive)
    other = FolderStore(tmp_path / "other")
    assert import_archive(other, archive) == [rec.run_id]
    copied = other.run_folder(rec.run_id)
    for name in ("001_input.txt", "002_parameters.json", "003_output_image.png"):
        assert (copied / "prompting_process" / name).read_bytes() == \
            (rec.run_folder / "prompting_process" / name).read_bytes()
    assert check_run(other, rec.run_id).findings == []


def test_steps_go_through_export_import_and_verify_on_every_store(any_store: Store, tmp_path: Path) -> None:
    rec = with_steps(tmp_path / "source")
    archive = tmp_path / "runs.zip"
    export_runs(FolderStore(tmp_path / "source"), [rec.run_id], archive)
    assert import_archive(any_store, archive) == [rec.run_id]
    steps = json.loads(any_store.read_document_bytes(rec.run_id))["prompting_process"]
    assert [s["filename"] for s in steps] == [s["filename"] for s in rec.get_process_steps()]
    with any_store.open_entity(rec.run_id, steps[2]).file as f:
        assert f.read() == PNG
    assert check_run(any_store, rec.run_id).findings == []


def test_verify_reports_a_step_file_no_record_lists(base: Path) -> None:
    rec = with_steps(base)
    (rec.run_folder / "prompting_process" / "004_input.txt").write_text("never acknowledged")
    [finding] = check_run(FolderStore(base), rec.run_id).findings
    assert finding.code == UNLISTED_ENTITY and "prompting_process/004_input.txt" in finding.message
