"""Liveness by lease, and live changes between processes and machines (LISTEN/NOTIFY)."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

from shared_helpers import start_worker

from pipeline_recorder import LivePipelineRecorder
from pipeline_recorder.naming import new_run_id
from pipeline_recorder.stores.shared import SharedStore
from support import wait_until


def test_a_killed_writer_s_run_reads_interrupted_once_its_lease_expires_and_keeps_what_it_acknowledged(
        shared: SharedStore, store_url: str, database_url: str) -> None:
    run_id = new_run_id()
    proc = start_worker("hold", store_url, database_url, run_id, "1.0")
    assert proc.stdout is not None
    assert json.loads(proc.stdout.readline())["ready"] == proc.pid
    # While it lives, its heartbeat keeps the run running well past one lease.
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:
        assert shared.read_metadata(run_id)["status"] == "running"
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    doc = wait_until(lambda: (d := shared.read_metadata(run_id))["status"] == "interrupted" and d, 10,
                     "the run to read interrupted")
    assert [e["filename"] for e in doc["entities"]] == ["01_input.txt"]
    assert json.loads(shared.bucket.get(shared.runs.key(run_id)))["status"] == "running"  # what is stored


def test_a_subscriber_of_one_store_is_woken_when_another_store_commits_a_change(
        shared: SharedStore, store_url: str, database_url: str) -> None:
    run_id = new_run_id()
    rec = LivePipelineRecorder(run_id, "stillepost", "eco", "kids", base_path=shared)
    with SharedStore.open(store_url, database_url) as reader:
        woken = threading.Event()
        reader.subscribe(run_id, woken.set)
        try:
            rec.set_state(1, "translation")  # another store object, as another replica or machine
            assert woken.wait(30)
            woken.clear()
            rec.save_entity("input", "hello")
            assert woken.wait(30)
            assert reader.read_metadata(run_id)["entities"][0]["filename"] == "01_input.txt"
        finally:
            reader.unsubscribe(run_id, woken.set)
        woken.clear()
        rec.save_entity("input", "after")
        assert rec.get_status()["revision"] == reader.read_metadata(run_id)["revision"]
        assert not woken.is_set()  # unsubscribed: no more wakes (the commit above was notified before returning)
