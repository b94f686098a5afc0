"""The research fields of a run (kind, session_id, device_id, models_used, tags, notes): always in a new run's
metadata.json, read with their defaults from runs written before them, checked with clear errors, set by the
library, and filtered by the listing of both stores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline_recorder import LivePipelineRecorder, get_recorder, load_recorder, new_run_id, runformat
from pipeline_recorder.document import MetadataDocument
from pipeline_recorder.errors import RunExistsError, RunFinishedError, ValidationError
from pipeline_recorder.stores import Store

FIELDS = ("kind", "session_id", "device_id", "models_used", "tags", "notes")


def on_disk(rec: LivePipelineRecorder) -> dict[str, object]:
    """metadata.json as a reader of the folder sees it (not through the recorder)."""
    doc: dict[str, object] = json.loads((rec.run_folder / "metadata.json").read_text("utf-8"))
    return doc


def old_run(store: Store, run_id: str, **header: object) -> str:
    """A run as a version before the research fields wrote it: none of their keys in its metadata.json."""
    doc = runformat.new_header(run_id=run_id, config_name="stillepost", execution_mode="eco", safety_level="kids",
                               user_id="u", expected_outputs=["input"], owner={"pid": 0, "host": "elsewhere"})
    for key in FIELDS:
        del doc[key]
    doc.update(header)
    assert store.create_run(run_id, MetadataDocument(doc, []))
    return run_id


def test_a_new_run_holds_every_field_on_disk_with_its_defaults(base: Path) -> None:
    rec = LivePipelineRecorder("r1", "stillepost", "eco", "kids", base_path=base)
    doc = on_disk(rec)
    assert {key: doc[key] for key in FIELDS} == {"kind": "pipeline", "session_id": None, "device_id": None,
                                                 "models_used": {}, "tags": [], "notes": ""}


def test_kind_session_and_device_given_are_stored(base: Path) -> None:
    rec = LivePipelineRecorder("r1", "stillepost", "eco", "kids", base_path=base, kind="canvas_workflow",
                               session_id="class-4b-2026-12-01", device_id="ws-07")
    doc = on_disk(rec)
    assert (doc["kind"], doc["session_id"], doc["device_id"]) == ("canvas_workflow", "class-4b-2026-12-01", "ws-07")


@pytest.mark.parametrize(("field", "value", "says"), [
    ("kind", "Canvas", "kind must be a lower-case name"),
    ("kind", "", "kind must be a lower-case name"),
    ("session_id", "class 4b", "session_id must be null or 1-128 letters"),
    ("device_id", "../etc", "device_id must be null or 1-128 letters"),
    ("device_id", "x" * 129, "device_id must be null or 1-128 letters"),
])
def test_a_bad_field_is_refused_before_anything_is_written(base: Path, field: str, value: str, says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        LivePipelineRecorder("r1", "stillepost", "eco", "kids", base_path=base, **{field: value})  # type: ignore[arg-type]
    assert not (base / "pipeline_runs" / "r1").exists()


def test_attaching_with_another_kind_or_session_is_refused_and_the_same_attaches(base: Path) -> None:
    LivePipelineRecorder("r1", "stillepost", "eco", "kids", base_path=base, kind="latent_lab", session_id="s1")
    again = LivePipelineRecorder("r1", "stillepost", "eco", "kids", base_path=base, kind="latent_lab")
    assert again.get_status()["session_id"] == "s1"
    with pytest.raises(RunExistsError, match="kind"):
        LivePipelineRecorder("r1", "stillepost", "eco", "kids", base_path=base, kind="pipeline")
    with pytest.raises(RunExistsError, match="session_id"):
        LivePipelineRecorder("r1", "stillepost", "eco", "kids", base_path=base, session_id="s2")


def test_get_recorder_creates_with_the_fields_and_refuses_other_ones(base: Path) -> None:
    rec = get_recorder("r1", "stillepost", "eco", "kids", base_path=base, kind="latent_lab", device_id="ws-1")
    assert (on_disk(rec)["kind"], on_disk(rec)["device_id"]) == ("latent_lab", "ws-1")
    assert get_recorder("r1", base_path=base, kind="latent_lab") is rec
    with pytest.raises(RunExistsError, match="device_id"):
        get_recorder("r1", base_path=base, device_id="ws-2")


def test_a_run_written_before_the_fields_reads_with_the_defaults(any_store: Store) -> None:
    run_id = old_run(any_store, new_run_id())
    rec = load_recorder(run_id, any_store)
    assert rec is not None
    status = rec.get_status()
    assert {key: status[key] for key in FIELDS} == {"kind": "pipeline", "session_id": None, "device_id": None,
                                                    "models_used": {}, "tags": [], "notes": ""}
    [summary], _ = any_store.run_index().query()
    assert (summary["kind"], summary["session_id"], summary["device_id"], summary["tags"]) == \
        ("pipeline", None, None, [])


def test_set_model_records_backend_and_model_per_stage(base: Path) -> None:
    rec = LivePipelineRecorder("r1", "stillepost", "eco", "kids", base_path=base)
    rec.set_model("stage1_safety", "ollama/gpt-oss:20b")
    rec.set_model("stage4_output_image", "comfyui/sd35_large")
    rec.set_model("stage1_safety", "ollama/llama-guard3")
    assert on_disk(rec)["models_used"] == {"stage1_safety": "ollama/llama-guard3",
                                           "stage4_output_image": "comfyui/sd35_large"}


@pytest.mark.parametrize(("stage_key", "model", "says"), [
    ("Stage1", "ollama/x", "stage key must match"),
    ("stage1", "gpt-oss", "must be 'backend/model'"),
    ("stage1", "Ollama/x", "must be 'backend/model'"),
    ("stage1", "ollama/", "must be 'backend/model'"),
    ("stage1", "ollama/" + "m" * 200, "must be 'backend/model'"),
    ("stage1", None, "must be 'backend/model'"),
])
def test_a_bad_model_is_refused_and_nothing_changes(base: Path, stage_key: str, model: str, says: str) -> None:
    rec = LivePipelineRecorder("r1", "stillepost", "eco", "kids", base_path=base)
    before = (rec.run_folder / "metadata.json").read_bytes()
    with pytest.raises(ValidationError, match=says):
        rec.set_model(stage_key, model)
    assert (rec.run_folder / "metadata.json").read_bytes() == before


def test_set_model_on_an_ended_run_is_refused(base: Path) -> None:
    rec = LivePipelineRecorder("r1", "stillepost", "eco", "kids", base_path=base)
    rec.mark_complete()
    with pytest.raises(RunFinishedError):
        rec.set_model("stage1_safety", "ollama/x")


def test_annotate_replaces_notes_and_tags_also_on_an_ended_run(base: Path) -> None:
    rec = LivePipelineRecorder("r1", "stillepost", "eco", "kids", base_path=base)
    rec.mark_complete()
    revision = on_disk(rec)["revision"]
    assert rec.annotate(tags=[" zoo ", "animals", "zoo"]) == {"notes": "", "tags": ["zoo", "animals"]}
    assert rec.annotate(notes="Lena's dog\nsecond line") == {"notes": "Lena's dog\nsecond line",
                                                             "tags": ["zoo", "animals"]}
    doc = on_disk(rec)
    assert (doc["notes"], doc["tags"], doc["status"]) == ("Lena's dog\nsecond line", ["zoo", "animals"], "completed")
    assert doc["revision"] == revision + 2  # a new revision each time: followers see the change


def test_an_annotation_keeps_who_writes_a_running_run(base: Path) -> None:
    rec = LivePipelineRecorder("r1", "stillepost", "eco", "kids", base_path=base)
    writers = (on_disk(rec)["owner"], on_disk(rec)["writers"])
    rec.annotate(notes="x")
    assert (on_disk(rec)["owner"], on_disk(rec)["writers"]) == writers


@pytest.mark.parametrize(("notes", "tags", "says"), [
    (None, ["a,b"], "a tag must be 1-64 characters without commas"),
    (None, [""], "a tag must be"),
    (None, ["x" * 65], "a tag must be"),
    (None, ["line\nbreak"], "a tag must be"),
    (None, "zoo", "tags must be a list"),
    (None, [str(n) for n in range(33)], "at most 32 tags"),
    ("x" * 10_001, None, "notes must be text of at most 10000"),
    ("a\0b", None, "notes must be text"),
    ("\ud800", None, "notes must be valid Unicode"),
])
def test_bad_notes_or_tags_are_refused_and_nothing_changes(base: Path, notes: object, tags: object,
                                                          says: str) -> None:
    rec = LivePipelineRecorder("r1", "stillepost", "eco", "kids", base_path=base)
    before = (rec.run_folder / "metadata.json").read_bytes()
    with pytest.raises(ValidationError, match=says):
        rec.annotate(notes=notes, tags=tags)  # type: ignore[arg-type]
    assert (rec.run_folder / "metadata.json").read_bytes() == before


def make_runs(store: Store) -> dict[str, str]:
    """Five runs of different kinds, sessions, devices and tags; name -> run id."""
    made = {}
    for name, fields, tags in [
        ("plain", {}, []),
        ("canvas", {"kind": "canvas_workflow", "session_id": "s1", "device_id": "d1"}, ["zoo"]),
        ("canvas2", {"kind": "canvas_workflow", "session_id": "s1", "device_id": "d2"}, ["zoo", "dogs"]),
        ("lab", {"kind": "latent_lab", "session_id": "s2", "device_id": "d1"}, ["dogs"]),
    ]:
        rec = LivePipelineRecorder(f"{name}-{new_run_id()}", "stillepost", "eco", "kids", base_path=store, **fields)
        if tags:
            rec.annotate(tags=tags)
        made[name] = rec.run_id
    made["old"] = old_run(store, f"old-{new_run_id()}")
    return made


@pytest.mark.parametrize(("filters", "expected"), [
    ({"kind": "canvas_workflow"}, {"canvas", "canvas2"}),
    ({"kind": "pipeline"}, {"plain", "old"}),
    ({"session_id": "s1"}, {"canvas", "canvas2"}),
    ({"device_id": "d1"}, {"canvas", "lab"}),
    ({"tag": "dogs"}, {"canvas2", "lab"}),
    ({"tag": "zoo", "device_id": "d2"}, {"canvas2"}),
    ({"kind": "latent_lab", "session_id": "s1"}, set()),
    ({"tag": "nobody"}, set()),
])
def test_the_listing_filters_by_kind_session_device_and_tag(any_store: Store, filters: dict[str, str],
                                                           expected: set[str]) -> None:
    made = make_runs(any_store)
    names = {run_id: name for name, run_id in made.items()}
    runs, _ = any_store.run_index().query(**filters)  # type: ignore[arg-type]
    assert {names[run["run_id"]] for run in runs} == expected


def test_a_tag_added_later_is_found_by_the_listing(any_store: Store) -> None:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=any_store)
    assert any_store.run_index().query(tag="later") == ([], None)
    rec.mark_complete()
    rec.annotate(tags=["later"])
    [run], _ = any_store.run_index().query(tag="later")
    assert (run["run_id"], run["tags"]) == (rec.run_id, ["later"])


@pytest.mark.parametrize(("filters", "says"), [
    ({"kind": "Bad Kind"}, "kind must be"),
    ({"session_id": "a b"}, "session_id must be"),
    ({"device_id": "/"}, "device_id must be"),
    ({"tag": "a,b"}, "a tag must be"),
])
def test_a_bad_filter_is_a_clear_error_on_both_stores(any_store: Store, filters: dict[str, str], says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        any_store.run_index().query(**filters)  # type: ignore[arg-type]


def test_a_follower_gets_an_annotations_event_when_notes_or_tags_change(base: Path) -> None:
    from pipeline_recorder import events

    rec = LivePipelineRecorder("r1", "stillepost", "eco", "kids", base_path=base)
    before = rec.get_status()
    rec.annotate(tags=["zoo"])
    after = rec.get_status()
    found = events.diff(before, after)
    assert [(e.event, e.data) for e in found] == [("annotations", {"notes": "", "tags": ["zoo"]})]
    assert found[0].id == events.event_id(after["revision"], events.STATUS)
    rec.set_state(1, "translation_and_safety")
    assert [e.event for e in events.diff(after, rec.get_status())] == ["state"]
