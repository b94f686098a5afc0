"""The trash through the Store interface, once per store (``any_store``): a trashed run vanishes from every listing
and read, keeps its id taken, comes back byte for byte, and a purge frees the id; the rules of ops/trash.py (never a
live running run) on top."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta

import pytest

from pipeline_recorder import LivePipelineRecorder, new_run_id, runformat
from pipeline_recorder.document import MetadataDocument
from pipeline_recorder.errors import RunInTrashError, RunNotFoundError, RunStillRunningError
from pipeline_recorder.liveness import current_owner
from pipeline_recorder.ops import trash
from pipeline_recorder.stores import Store


def document(run_id: str, *, status: str = "completed", owner: dict[str, object] | None = None,
             user_id: str = "u") -> MetadataDocument:
    header = runformat.new_header(run_id=run_id, config_name="c", execution_mode="eco", safety_level="kids",
                                  user_id=user_id, expected_outputs=["input"],
                                  owner=owner or {"pid": 0, "host": "elsewhere"})
    header["status"] = status
    return MetadataDocument(header, [])


# A writer of this machine that certainly died: this process's pid with another start time.
DEAD_WRITER = {"pid": os.getpid(), "host": socket.gethostname(), "start_ticks": -5}


def recorded(store: Store, user_id: str = "u") -> LivePipelineRecorder:
    rec = LivePipelineRecorder(new_run_id(), "c", "eco", "kids", user_id=user_id, base_path=store)
    rec.save_entity("input", "ein Hund im Garten")
    rec.mark_complete()
    return rec


def listed(store: Store) -> set[str]:
    return {summary["run_id"] for summary in store.run_index().query(limit=200)[0]}


def test_a_trashed_run_is_in_no_listing_and_no_read_but_in_the_trash(any_store: Store) -> None:
    rec = recorded(any_store)
    kept = recorded(any_store)
    assert listed(any_store) == {rec.run_id, kept.run_id}
    trash.delete_run(any_store, rec.run_id)
    assert not any_store.run_exists(rec.run_id)
    assert rec.run_id not in set(any_store.run_ids())
    assert listed(any_store) == {kept.run_id}
    with pytest.raises(RunNotFoundError):
        any_store.read_document(rec.run_id)
    with pytest.raises(RunNotFoundError), any_store.writer(rec.run_id).transaction():
        pass
    [entry] = trash.trash_listing(any_store)
    assert entry["run_id"] == rec.run_id and entry["status"] == "completed" and entry["user_id"] == "u"
    assert abs(datetime.fromisoformat(entry["trashed_at"]) - datetime.now(UTC)) < timedelta(minutes=5)


def test_a_restored_run_comes_back_byte_for_byte_with_its_entities(any_store: Store) -> None:
    rec = recorded(any_store)
    before = any_store.read_document_bytes(rec.run_id)
    trash.delete_run(any_store, rec.run_id)
    trash.restore_run(any_store, rec.run_id)
    assert any_store.read_document_bytes(rec.run_id) == before
    assert listed(any_store) == {rec.run_id}
    record = any_store.read_metadata(rec.run_id)["entities"][0]
    opened = any_store.open_entity(rec.run_id, record)
    try:
        assert opened.file.read() == b"ein Hund im Garten"
    finally:
        opened.close()
    assert trash.trash_listing(any_store) == []
    # full-text search finds it again by its words
    assert [run["run_id"] for run in any_store.run_index().query(q="Garten")[0]] == [rec.run_id]
    with pytest.raises(RunNotFoundError):
        trash.restore_run(any_store, rec.run_id)


def test_the_id_of_a_trashed_run_stays_taken_until_it_is_purged(any_store: Store) -> None:
    run_id = new_run_id()
    assert any_store.create_run(run_id, document(run_id))
    trash.delete_run(any_store, run_id)
    with pytest.raises(RunInTrashError, match="in the trash"):
        any_store.create_run(run_id, document(run_id))
    assert any_store.purge_trashed(run_id) is True
    assert any_store.purge_trashed(run_id) is False
    with pytest.raises(RunNotFoundError):
        any_store.restore_run(run_id)
    fresh = document(run_id)
    fresh.header["config_name"] = "fresh"
    assert any_store.create_run(run_id, fresh)
    assert any_store.read_metadata(run_id)["config_name"] == "fresh"
    assert [f.name for f in any_store.stored_files(run_id)] == []  # nothing of the purged run is left under it


def test_a_live_running_run_is_refused_and_an_interrupted_one_may_go(any_store: Store) -> None:
    live = new_run_id()
    any_store.create_run(live, document(live, status="running", owner=current_owner()))
    with pytest.raises(RunStillRunningError, match="still running"):
        trash.delete_run(any_store, live)
    assert any_store.run_exists(live)
    interrupted = new_run_id()
    any_store.create_run(interrupted, document(interrupted, status="running", owner=DEAD_WRITER))
    trash.delete_run(any_store, interrupted)
    [entry] = trash.trash_listing(any_store)
    assert (entry["run_id"], entry["status"]) == (interrupted, "interrupted")
    trash.restore_run(any_store, interrupted)
    assert any_store.read_metadata(interrupted)["status"] == "interrupted"


def test_a_selection_reports_each_run_and_one_refusal_stops_no_other(any_store: Store) -> None:
    done = recorded(any_store)
    live = new_run_id()
    any_store.create_run(live, document(live, status="running", owner=current_owner()))
    unknown = new_run_id()
    outcomes = trash.for_each([done.run_id, live, unknown, done.run_id],
                              lambda run_id: trash.delete_run(any_store, run_id))
    assert [(o.run_id, type(o.error).__name__ if o.error else None) for o in outcomes] == [
        (done.run_id, None), (live, "RunStillRunningError"), (unknown, "RunNotFoundError")]
    assert listed(any_store) == {live}


def test_emptying_the_trash_deletes_only_what_was_trashed_longer_ago_than_the_age(any_store: Store) -> None:
    old, new = recorded(any_store), recorded(any_store)
    trash.delete_run(any_store, old.run_id)
    trash.delete_run(any_store, new.run_id)
    now = datetime.now(UTC)
    assert trash.expired(any_store, now=now) == []  # the default keeps a week
    later = now + trash.DEFAULT_TRASH_AGE + timedelta(minutes=1)
    assert {t.run_id for t in trash.expired(any_store, now=later)} == {old.run_id, new.run_id}
    doomed = [t for t in trash.expired(any_store, now=now, older_than=timedelta(0)) if t.run_id == old.run_id]
    assert trash.empty_trash(any_store, doomed) == [old.run_id]
    assert [entry["run_id"] for entry in trash.trash_listing(any_store)] == [new.run_id]
    with pytest.raises(RunNotFoundError):
        any_store.restore_run(old.run_id)
