"""Three `pipeline-recorder serve` replicas on one bucket and one database: stateless, one consistent view."""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import httpx
from shared_helpers import Replica

from pipeline_recorder import LivePipelineRecorder
from pipeline_recorder.naming import new_run_id
from pipeline_recorder.stores.shared import SharedStore
from support import wait_until

sys.path.insert(0, str(Path(__file__).parent.parent / "http"))
from http_sse import SSEReader


def test_a_client_sending_each_request_to_another_replica_sees_one_consistent_run(
        shared: SharedStore, replicas: list[Replica]) -> None:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=shared)
    rotation = itertools.cycle(replicas)
    last_revision = 0
    with httpx.Client(timeout=10) as client:
        for n in range(12):
            filename = rec.save_entity("input", f"entity {n}")
            for _ in range(3):  # every replica, in turn, right after the commit
                status = client.get(f"{next(rotation).url}/api/pipeline/{rec.run_id}/status").json()
                assert status["revision"] >= last_revision  # never back in time, whichever replica answers
                last_revision = status["revision"]
                assert status["entities"][-1]["filename"] == filename  # what was committed is seen everywhere
        documents = {client.get(f"{r.url}/api/pipeline/{rec.run_id}/status").content for r in replicas}
        assert len(documents) == 1  # every replica answers the same bytes
        # ... and the run the bucket holds (the API leaves out who writes it, for anonymous readers).
        assert json.loads(documents.pop())["entities"] == json.loads(shared.read_document_bytes(rec.run_id))["entities"]
        answers = [client.get(f"{r.url}/api/pipeline/{rec.run_id}/entity/input", headers={"Range": "bytes=0-5"})
                   for r in replicas]
        assert {(a.status_code, a.content, a.headers["etag"]) for a in answers} == {
            (206, b"entity", f'"{rec.get_entities()[-1]["sha256"]}"')}
        listings = [client.get(f"{r.url}/api/pipeline/runs").json() for r in replicas]
        assert all(listing == listings[0] for listing in listings)
        assert [run["run_id"] for run in listings[0]["runs"]] == [rec.run_id]


def test_an_event_stream_on_one_replica_receives_what_a_worker_on_another_machine_writes(
        shared: SharedStore, replicas: list[Replica]) -> None:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=shared)
    rec.save_entity("input", "before the client connected")
    reader = SSEReader(f"{replicas[2].url}/api/pipeline/{rec.run_id}/events").start()
    try:
        wait_until(lambda: any(e.event == "entity" for e in reader.events), 30, "the stream's first entity")
        # Another store object (as a worker on another machine has), through neither of the replicas.
        with SharedStore.open(shared.url, shared.config.database_url) as worker_store:
            worker = LivePipelineRecorder(rec.run_id, base_path=worker_store)
            worker.save_entity("translation", "written elsewhere")
            worker.mark_complete()
        wait_until(lambda: any(e.event == "end" for e in reader.events), 30, "the stream to end")
        entities = [e.data for e in reader.events if e.event == "entity"]
        assert [e["filename"] for e in entities] == ["01_input.txt", "02_translation.txt"]
        assert [e.data["status"] for e in reader.events if e.event == "status"][-1] == "completed"
        assert json.loads(shared.read_document_bytes(rec.run_id))["status"] == "completed"
    finally:
        reader.stop()
