"""The per-run transaction: no sequence twice on any machine, nothing acknowledged lost, metadata.json only moves
forward in the bucket."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from shared_helpers import check_bucket_run, object_names, read_acks, start_worker

from pipeline_recorder import LivePipelineRecorder
from pipeline_recorder.document import MetadataDocument
from pipeline_recorder.errors import RunFinishedError
from pipeline_recorder.naming import new_run_id
from pipeline_recorder.stores.shared import SharedStore


def test_four_processes_of_four_threads_write_one_run_with_unique_contiguous_sequences(
        shared: SharedStore, store_url: str, database_url: str, tmp_path: Path) -> None:
    run_id = new_run_id()
    workers = [start_worker("concurrent", store_url, database_url, run_id, f"w{n}", "4", "10") for n in range(4)]
    for proc in workers:
        assert proc.stdout is not None
        assert json.loads(proc.stdout.readline())["ready"]
    for proc in workers:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    acks = [ack for proc in workers for ack in read_acks(proc) if "filename" in ack]
    assert all(proc.wait(timeout=120) == 0 for proc in workers)

    assert len(acks) == 160
    doc = check_bucket_run(shared, run_id, tmp_path)
    assert [e["sequence"] for e in doc["entities"]] == list(range(1, 161))
    listed = {e["filename"]: e for e in doc["entities"]}
    assert {ack["filename"] for ack in acks} == set(listed)  # every acknowledged one, each once
    for ack in acks:  # and each name holds what its writer saved
        assert shared.bucket.get(shared.runs.key(run_id, ack["filename"])) == ack["text"].encode()
    assert doc["revision"] == 1 + 160 and shared.read_metadata(run_id) == doc


def test_a_metadata_json_left_by_a_writer_killed_before_its_commit_is_overtaken_never_rewound(
        shared: SharedStore) -> None:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=shared)
    rec.save_entity("input", "one")
    key = shared.runs.key(rec.run_id)
    # What a writer leaves when it dies between its put of metadata.json and its commit: a newer revision in
    # the bucket that the database never heard of, listing an entity that was never acknowledged.
    orphan = json.loads(shared.bucket.get(key))
    orphan["revision"] += 5
    orphan["entities"].append({**orphan["entities"][0], "sequence": 2, "filename": "02_input.txt"})
    shared.bucket.put(key, MetadataDocument.from_dict(orphan).to_bytes())

    assert rec.save_entity("translation", "two") == "02_translation.txt"
    in_bucket = json.loads(shared.bucket.get(key))
    assert in_bucket["revision"] > orphan["revision"]
    assert [e["filename"] for e in in_bucket["entities"]] == ["01_input.txt", "02_translation.txt"]
    assert shared.read_metadata(rec.run_id) == in_bucket


def test_a_finished_run_takes_no_more_changes_and_ending_it_the_same_way_again_is_a_no_op(
        shared: SharedStore) -> None:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=shared)
    rec.save_entity("input", "one")
    rec.mark_complete()
    revision = shared.read_metadata(rec.run_id)["revision"]
    rec.mark_complete()
    assert shared.read_metadata(rec.run_id)["revision"] == revision
    with pytest.raises(RunFinishedError, match="completed"):
        rec.save_entity("input", "two")
    with pytest.raises(RunFinishedError):
        rec.mark_failed("late")
    doc = shared.read_metadata(rec.run_id)
    assert doc["status"] == "completed" and len(doc["entities"]) == 1 and doc["revision"] == revision
    assert object_names(shared, rec.run_id) == ["01_input.txt", "metadata.json"]


def test_a_second_store_instance_sees_and_continues_what_the_first_wrote(
        shared: SharedStore, store_url: str, database_url: str) -> None:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=shared)
    rec.save_entity("input", "one")
    with SharedStore.open(store_url, database_url) as other:
        again = LivePipelineRecorder(rec.run_id, base_path=other)
        assert again.save_entity("input", "two") == "02_input.txt"
    # The first store's cached document is behind now: its next change reads the record it has not seen.
    assert rec.save_entity("input", "three") == "03_input.txt"
    assert [e["filename"] for e in shared.read_metadata(rec.run_id)["entities"]] == [
        "01_input.txt", "02_input.txt", "03_input.txt"]
