"""A shared run is the folder store's run, object for object and byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

from shared_helpers import check_bucket_run, object_names

from pipeline_recorder import LivePipelineRecorder, new_run_id
from pipeline_recorder.stores.shared import SharedStore

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
VOLATILE = ("timestamp", "updated_at", "finished_at", "owner", "writers")


def _record(rec: LivePipelineRecorder) -> None:
    rec.save_entity("input", "Grüße aus Köln")
    rec.set_state(1, "translation_and_safety")
    rec.save_entity("translation", "Greetings from Cologne")
    rec.save_entity("safety", {"safe": True, "checks": ["§86a"], "score": 0.25})
    rec.save_entity("output_image", PNG, {"seed": 7})
    rec.save_error(3, "timeout", "the model did not answer", {"seconds": 30})
    rec.mark_complete()


def _stable(doc: dict) -> dict:
    """A document without what differs between two recordings of the same run (times, writer processes)."""
    out = {key: value for key, value in doc.items() if key not in VOLATILE}
    # The error entity's content holds the time it was saved, so its size and hash differ too.
    volatile = {"timestamp"}
    out["entities"] = [{key: value for key, value in e.items()
                        if key not in volatile | ({"size", "sha256"} if e["type"] == "error" else set())}
                       for e in doc["entities"]]
    return out


def test_a_shared_run_has_the_folder_runs_objects_names_bytes_and_document(shared: SharedStore,
                                                                           tmp_path: Path) -> None:
    run_id = new_run_id()
    folder_rec = LivePipelineRecorder(run_id, "stillepost", "eco", "kids", base_path=tmp_path / "folder")
    _record(folder_rec)
    _record(LivePipelineRecorder(run_id, "stillepost", "eco", "kids", base_path=shared))

    folder = folder_rec.run_folder
    assert object_names(shared, run_id) == sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    for entity in json.loads((folder / "metadata.json").read_bytes())["entities"][:-1]:  # the error has a time
        key = shared.runs.key(run_id, entity["filename"])
        assert shared.bucket.get(key) == (folder / entity["filename"]).read_bytes()
    doc = check_bucket_run(shared, run_id, tmp_path / "downloaded")
    assert _stable(doc) == _stable(folder_rec.get_status())
    # What the library reads is what the bucket holds, and what the database builds is the bucket's bytes.
    assert shared.read_document_bytes(run_id) == shared.bucket.get(shared.runs.key(run_id))
    assert shared.read_metadata(run_id) == doc


def test_attaching_with_the_same_settings_continues_the_run_and_other_settings_are_refused(
        shared: SharedStore) -> None:
    run_id = new_run_id()
    first = LivePipelineRecorder(run_id, "stillepost", "eco", "kids", base_path=shared)
    first.save_entity("input", "one")
    second = LivePipelineRecorder(run_id, "stillepost", "eco", "kids", base_path=shared)
    assert second.save_entity("translation", "two") == "02_translation.txt"
    try:
        LivePipelineRecorder(run_id, "haiku", "eco", "kids", base_path=shared)
    except Exception as exc:
        assert type(exc).__name__ == "RunExistsError" and "config_name" in str(exc)
    else:
        raise AssertionError("other settings were accepted")
    assert [e["filename"] for e in shared.read_metadata(run_id)["entities"]] == ["01_input.txt", "02_translation.txt"]
