"""The Store contract: what the recorder, the HTTP layer, the change feed, the listing and the ops tools rely on,
checked through the interface alone, once per store implementation (the ``any_store`` fixture)."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pipeline_recorder import LivePipelineRecorder, new_run_id, runformat
from pipeline_recorder.document import MetadataDocument, parse_metadata
from pipeline_recorder.errors import EntityNotFoundError, RunNotFoundError, ValidationError
from pipeline_recorder.stores import FolderStore, Store, open_store
from store_backends import waits_for_run_lock
from support import wait_until

WORKERS = Path(__file__).with_name("store_workers.py")


def new_document(run_id: str) -> MetadataDocument:
    return MetadataDocument(runformat.new_header(run_id=run_id, config_name="c", execution_mode="eco",
                                                 safety_level="kids", user_id="u", expected_outputs=["input"],
                                                 owner={"pid": 0, "host": "elsewhere"}), [])


def made(store: Store, document: MetadataDocument | None = None) -> str:
    run_id = document.header["run_id"] if document is not None else new_run_id()
    assert store.create_run(run_id, document or new_document(run_id)) is True
    return run_id


def stored(store: Store, run_id: str) -> dict[str, object]:
    return parse_metadata(store.read_document_bytes(run_id), "test")


def test_a_created_run_is_listed_and_reads_back_its_document(any_store: Store) -> None:
    document = new_document(new_run_id())
    run_id = made(any_store, document)
    assert any_store.run_exists(run_id)
    assert run_id in set(any_store.run_ids())
    assert any_store.read_document_bytes(run_id) == document.to_bytes()


def test_creating_an_existing_run_attaches_and_writes_nothing(any_store: Store) -> None:
    run_id = made(any_store)
    before = any_store.read_document_bytes(run_id)
    other = new_document(run_id)
    other.header["config_name"] = "other"
    assert any_store.create_run(run_id, other) is False
    assert any_store.read_document_bytes(run_id) == before


def test_an_unknown_run_is_not_found_everywhere(any_store: Store) -> None:
    run_id = new_run_id()
    assert not any_store.run_exists(run_id)
    with pytest.raises(RunNotFoundError):
        any_store.read_document(run_id)
    with pytest.raises(RunNotFoundError), any_store.writer(run_id).transaction():
        pass
    with pytest.raises(RunNotFoundError):
        any_store.stage_entity(run_id, b"x")
    with pytest.raises(RunNotFoundError):
        any_store.delete_run(run_id)


def test_read_document_answers_none_for_the_version_known_and_the_bytes_after_a_change(any_store: Store) -> None:
    run_id = made(any_store)
    first = any_store.read_document(run_id)
    assert first is not None
    assert any_store.read_document(run_id, first.version) is None
    with any_store.writer(run_id).transaction() as txn:
        assert txn.document is not None
        txn.document.header["revision"] += 1
        txn.replace_document()
    second = any_store.read_document(run_id, first.version)
    assert second is not None and json.loads(second.data)["revision"] == 2


def test_a_transaction_places_a_staged_entity_and_commits_the_document(any_store: Store) -> None:
    run_id = made(any_store)
    staged = any_store.stage_entity(run_id, io.BytesIO(b" world"), head=b"hello")
    assert (staged.size, staged.sha256) == (11, hashlib.sha256(b"hello world").hexdigest())
    with any_store.writer(run_id).transaction() as txn:
        assert txn.document is not None and txn.next_sequence() == 1
        txn.place_entity(staged, "01_input.txt")
        txn.document.add_entity({"sequence": 1, "type": "input", "filename": "01_input.txt", "timestamp": "t",
                                 "metadata": {}, "size": 11, "sha256": staged.sha256, "mime_type": "text/plain"})
        txn.replace_document()
    staged.discard()
    record = stored(any_store, run_id)["entities"][0]  # type: ignore[index]
    entity = any_store.open_entity(run_id, record)
    with entity.file as f:
        f.seek(6)
        assert (entity.size, f.read()) == (11, b"world")
    assert [(f.name, f.size) for f in any_store.stored_files(run_id)] == [("01_input.txt", 11)]
    with any_store.writer(run_id).transaction() as txn:
        assert txn.next_sequence() == 2


def test_a_failed_transaction_leaves_no_unlisted_entity_and_the_document_as_it_was(any_store: Store) -> None:
    run_id = made(any_store)
    before = any_store.read_document_bytes(run_id)
    staged = any_store.stage_entity(run_id, b"never listed")
    with pytest.raises(KeyError), any_store.writer(run_id).transaction() as txn:
        txn.place_entity(staged, "01_input.txt")
        raise KeyError("the caller failed before replacing the document")
    staged.discard()
    assert list(any_store.stored_files(run_id)) == []
    assert any_store.read_document_bytes(run_id) == before


def test_transactions_of_many_threads_and_handles_never_share_a_sequence(any_store: Store) -> None:
    run_id = made(any_store)
    recorders = [LivePipelineRecorder(run_id, base_path=any_store) for _ in range(4)]

    def work(rec: LivePipelineRecorder) -> None:
        for n in range(10):
            rec.save_entity("input", f"{n}")

    threads = [threading.Thread(target=work, args=(rec,)) for rec in recorders for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sequences = [e["sequence"] for e in stored(any_store, run_id)["entities"]]  # type: ignore[attr-defined]
    assert sequences == list(range(1, 81))


def test_a_transaction_excludes_another_process_until_it_commits(any_store: Store) -> None:
    """The second process can only enter after the first committed, so it always sees the first one's change;
    with no exclusion it would enter at once and see the document from before."""
    run_id = made(any_store)

    def start(*args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, str(WORKERS), *args, any_store.url, run_id], text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    holder = start("hold")
    entering = None
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert json.loads(holder.stdout.readline()) == "holding"
        entering = start("enter")
        assert entering.stdout is not None
        assert json.loads(entering.stdout.readline()) == "trying"
        wait_until(lambda: waits_for_run_lock(any_store, entering.pid), what="the second process to wait")
        holder.stdin.write("release\n")
        holder.stdin.flush()
        assert json.loads(entering.stdout.readline()) == "held"
        assert json.loads(holder.stdout.readline()) == "released"
    finally:
        for proc in (holder, entering):
            if proc is not None:
                proc.kill()
                proc.wait()


def test_an_entity_of_another_size_than_its_record_is_refused(any_store: Store) -> None:
    rec = LivePipelineRecorder(new_run_id(), "c", "eco", "kids", base_path=any_store)
    rec.save_entity("input", "hello")
    [record] = rec.get_entities()
    with pytest.raises(EntityNotFoundError, match="5 bytes, not the 6"):
        any_store.open_entity(rec.run_id, {**record, "size": 6})


def test_delete_run_removes_it_whole_or_keeps_it_when_told(any_store: Store) -> None:
    run_id = made(any_store)
    assert any_store.delete_run(run_id, lambda doc: False) is False
    assert any_store.run_exists(run_id)
    seen: list[object] = []
    assert any_store.delete_run(run_id, lambda doc: seen.append(doc) or True) is True
    assert not any_store.run_exists(run_id) and run_id not in set(any_store.run_ids())
    assert isinstance(seen[0], dict) and seen[0]["run_id"] == run_id


def test_a_subscriber_is_woken_by_a_change_made_after_it_subscribed(any_store: Store) -> None:
    run_id = made(any_store)
    woken = threading.Event()
    any_store.subscribe(run_id, woken.set)
    try:
        LivePipelineRecorder(run_id, base_path=any_store).set_state(1, "changed")
        assert woken.wait(30)
    finally:
        any_store.unsubscribe(run_id, woken.set)


def test_a_running_run_with_leases_is_live_until_every_lease_ended(any_store: Store) -> None:
    run_id = made(any_store)  # its owner is a process on another host: alive by the process rule
    assert any_store.read_metadata(run_id)["status"] == "running"
    any_store.renew_lease(run_id, "worker-a", 300)
    any_store.renew_lease(run_id, "worker-b", 300)
    assert set(any_store.leases(run_id)) == {"worker-a", "worker-b"}
    any_store.release_lease(run_id, "worker-a")
    assert any_store.read_metadata(run_id)["status"] == "running"
    doc = stored(any_store, run_id)
    assert any_store.is_live(run_id, doc, now=time.time() + 301) is False  # once b's lease ran out too
    any_store.release_lease(run_id, "worker-b")
    assert any_store.read_metadata(run_id)["status"] == "interrupted"
    any_store.renew_lease(run_id, "worker-b", 300)  # the holder came back
    assert any_store.read_metadata(run_id)["status"] == "running"


def test_the_listing_judges_a_running_run_by_its_leases(any_store: Store) -> None:
    run_id = made(any_store)
    listing = any_store.run_index()

    def listed_status() -> str:
        [summary] = listing.query()[0]
        return str(summary["status"])

    any_store.renew_lease(run_id, "worker", 300)
    assert listed_status() == "running"
    any_store.release_lease(run_id, "worker")
    wait_until(lambda: listed_status() == "interrupted", what="the listing to read the run as interrupted")
    any_store.renew_lease(run_id, "worker", 300)
    wait_until(lambda: listed_status() == "running", what="the listing to read the run as running again")


def test_a_lease_is_refused_for_an_unknown_run(any_store: Store) -> None:
    with pytest.raises(RunNotFoundError):
        any_store.renew_lease(new_run_id(), "worker", 30)


def test_the_recorder_works_through_the_store_given_as_base_path(any_store: Store) -> None:
    rec = LivePipelineRecorder(new_run_id(), "c", "eco", "kids", base_path=any_store)
    assert rec.save_entity("input", "hi") == "01_input.txt"
    rec.mark_complete()
    assert any_store.read_metadata(rec.run_id)["status"] == "completed"
    assert LivePipelineRecorder.open(rec.run_id, any_store).get_status()["completed_outputs"] == ["input"]


# -- naming a store ------------------------------------------------------------------------------------------------


def test_open_store_opens_folder_paths_and_file_urls_as_the_folder_store(tmp_path: Path) -> None:
    for url in (str(tmp_path), f"file://{tmp_path}", tmp_path):
        store = open_store(url)
        assert isinstance(store, FolderStore) and store.base_path == tmp_path


def test_open_store_refuses_an_unknown_scheme_saying_what_is_accepted() -> None:
    with pytest.raises(ValidationError, match=r"unknown store URL scheme 'gopher'.*file"):
        open_store("gopher://host/runs")
