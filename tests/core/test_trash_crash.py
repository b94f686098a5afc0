"""kill -9 in the middle of trash moves, once per store: every run is afterwards either in place or in the trash
(never lost, never both), whole, and a purge stopped halfway never leaves a restorable half run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pipeline_recorder import LivePipelineRecorder, new_run_id
from pipeline_recorder.ops import trash
from pipeline_recorder.stores import Store
from store_backends import settled_after
from support import wait_until

WORKER = Path(__file__).with_name("trash_workers.py")
RUNS = 4


def recorded(store: Store) -> dict[str, bytes]:
    """RUNS runs with two entities each; run id -> its metadata.json."""
    documents = {}
    for number in range(RUNS):
        rec = LivePipelineRecorder(new_run_id(), "c", "eco", "kids", base_path=store)
        rec.save_entity("input", f"Eingabe {number}")
        rec.save_entity("output_image", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40)
        rec.mark_complete()
        documents[rec.run_id] = store.read_document_bytes(rec.run_id)
    return documents


def killed_after(store: Store, command: str, run_ids: list[str], lines: int) -> None:
    """Start a worker and kill -9 it once it has said ``lines`` lines (so mid-way through its moves)."""
    proc = subprocess.Popen([sys.executable, str(WORKER), command, store.url, *run_ids], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None
    said: list[str] = []
    try:
        wait_until(lambda: said.append(proc.stdout.readline()) or len(said) >= lines or proc.poll() is not None,
                   what=f"the {command} worker's moves")
    finally:
        proc.kill()
        proc.wait()
    # The worker is dead, but a move it had sent may still be landing: look only once it has.
    wait_until(lambda: settled_after(store, proc.pid), what=f"the killed {command} worker's last move to land")


def whole(store: Store, run_id: str, data: bytes) -> None:
    assert store.read_document_bytes(run_id) == data
    for record in store.read_metadata(run_id)["entities"]:
        opened = store.open_entity(run_id, record)
        try:
            assert len(opened.file.read()) == record["size"]
        finally:
            opened.close()


def test_kill_9_while_moving_runs_to_the_trash_and_back_loses_no_run(any_store: Store) -> None:
    documents = recorded(any_store)
    for lines in (1, 5, 11):
        killed_after(any_store, "cycle", list(documents), lines)
        trashed = {t.run_id for t in any_store.trashed_runs()}
        for run_id, data in documents.items():
            assert any_store.run_exists(run_id) != (run_id in trashed), f"{run_id}: in place xor in the trash"
            if run_id in trashed:
                any_store.restore_run(run_id)
            whole(any_store, run_id, data)


def test_kill_9_while_purging_leaves_each_run_whole_in_the_trash_or_unrestorable(any_store: Store) -> None:
    documents = recorded(any_store)
    for run_id in documents:
        trash.delete_run(any_store, run_id)
    killed_after(any_store, "purge", list(documents), 2)
    for entry in trash.trash_listing(any_store):  # what is still offered for restoring is whole
        any_store.restore_run(entry["run_id"])
        whole(any_store, entry["run_id"], documents[entry["run_id"]])
    for trashed in list(any_store.trashed_runs()):  # a purge stopped halfway: the next one finishes it
        assert trashed.purging
        assert any_store.purge_trashed(trashed.run_id)
    assert list(any_store.trashed_runs()) == []
