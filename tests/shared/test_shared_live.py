"""Liveness by lease, and live changes between processes and machines (LISTEN/NOTIFY)."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

from shared_helpers import start_worker

from pipeline_recorder.naming import new_run_id
from pipeline_recorder.stores.shared import SharedRecorder, SharedStore
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
        assert shared.read(run_id)["status"] == "running"
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    doc = wait_until(lambda: (d := shared.read(run_id))["status"] == "interrupted" and d, 10,
                     "the run to read interrupted")
    assert [e["filename"] for e in doc["entities"]] == ["01_input.txt"]
    assert json.loads(shared.bucket.get(shared.metadata_key(run_id)))["status"] == "running"  # what is stored


def test_a_follower_in_one_store_wakes_when_another_store_commits_a_change(
        shared: SharedStore, store_url: str, database_url: str) -> None:
    run_id = new_run_id()
    rec = SharedRecorder(shared, run_id, "stillepost", "eco", "kids")
    seen = shared.read(run_id)["revision"]
    with SharedStore.open(store_url, database_url) as reader:
        hub = reader.changes
        assert hub.wait_ready()
        hub.watch(run_id)
        woke = threading.Event()

        def follow() -> None:
            if hub.wait(run_id, seen, timeout=30):
                woke.set()

        follower = threading.Thread(target=follow)
        follower.start()
        assert not woke.wait(0.3)  # nothing changed yet: it sleeps
        rec.save_entity("input", "hello")
        follower.join(timeout=30)
        assert woke.is_set()
        assert reader.read(run_id)["entities"][0]["filename"] == "01_input.txt"
        assert not hub.wait(run_id, reader.read(run_id)["revision"], timeout=0.3)
        hub.unwatch(run_id)
