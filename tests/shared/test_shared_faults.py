"""Faults: the object store or the database going away, and writers killed with kill -9 mid-save."""

from __future__ import annotations

import json
import os
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from shared_helpers import check_bucket_run, start_worker

from pipeline_recorder import LivePipelineRecorder
from pipeline_recorder.errors import StorageError
from pipeline_recorder.naming import new_run_id
from pipeline_recorder.stores.shared import SharedStore
from shared_servers import MotoS3, Postgres, TcpProxy, running_postgres
from support import wait_until


@pytest.fixture
def own_postgres() -> Iterator[Postgres]:
    """A cluster of this test's own, to kill without disturbing the others."""
    with running_postgres() as server:
        yield server


def _saved(store: SharedStore, run_id: str) -> list[str]:
    return [e["filename"] for e in store.read_metadata(run_id)["entities"]]


def test_while_the_object_store_is_unreachable_writes_fail_clearly_reads_go_on_and_it_resumes_by_itself(
        s3: MotoS3, database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    proxy = TcpProxy(s3.port)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{proxy.port}")
    with SharedStore.open(f"s3://{s3.new_bucket()}/lab", database_url) as store:
        rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=store)
        rec.save_entity("input", "before")
        proxy.cut()
        with pytest.raises(StorageError, match="object store"):
            rec.save_entity("translation", "during")
        with pytest.raises(StorageError, match="object store"):
            rec.set_state(2, "interception")
        assert _saved(store, rec.run_id) == ["01_input.txt"]  # reads come from the database
        proxy.restore()
        assert rec.save_entity("translation", "after") == "02_translation.txt"
        doc = check_bucket_run(store, rec.run_id, tmp_path)
        assert [e["filename"] for e in doc["entities"]] == ["01_input.txt", "02_translation.txt"]
        assert doc == store.read_metadata(rec.run_id)
    proxy.close()


def test_while_the_database_is_down_calls_fail_clearly_and_service_resumes_when_it_is_back(
        own_postgres: Postgres, s3: MotoS3, tmp_path: Path) -> None:
    url = own_postgres.new_database()
    with SharedStore.open(f"s3://{s3.new_bucket()}/lab", url) as store:
        rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=store)
        rec.save_entity("input", "before")
        own_postgres.kill()
        started = time.monotonic()
        with pytest.raises(StorageError, match="database"):
            rec.save_entity("translation", "during")
        with pytest.raises(StorageError, match="database"):
            store.read_metadata(rec.run_id)
        with pytest.raises(StorageError, match="database"):
            store.run_index().query()
        assert time.monotonic() - started < 60  # reported, not waited out
        wait_until(_restarted(own_postgres), 60, "PostgreSQL to start again")
        wait_until(lambda: _try_save(rec), 30, "a save to succeed once the database is back")
        doc = check_bucket_run(store, rec.run_id, tmp_path)
        assert [e["filename"] for e in doc["entities"]] == ["01_input.txt", "02_translation.txt"]


def _restarted(server: Postgres):  # type: ignore[no-untyped-def]
    def attempt() -> bool:
        try:
            server.start()  # fails while the killed server's backends still hold its shared memory
        except RuntimeError:
            return False
        return True
    return attempt


def _try_save(rec: LivePipelineRecorder) -> bool:
    try:
        return rec.save_entity("translation", "after") == "02_translation.txt"
    except StorageError:
        return False


def test_writers_killed_at_random_moments_lose_no_acknowledged_entity_and_leave_a_valid_document(
        shared: SharedStore, store_url: str, database_url: str, tmp_path: Path) -> None:
    run_id = new_run_id()
    rng = random.Random(12)
    acks: list[dict] = []
    for kill in range(12):
        proc = start_worker("torture", store_url, database_url, run_id, f"s{kill}")
        assert proc.stdout is not None
        wanted = rng.randrange(1, 6)
        for _ in range(wanted):  # let it acknowledge a few, then kill it at once (often mid-save)
            line = proc.stdout.readline()
            assert line, "the worker died by itself"
            acks.append(json.loads(line))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        rest = proc.stdout.read()
        acks.extend(json.loads(line) for line in rest.splitlines() if line.startswith("{"))
    doc = check_bucket_run(shared, run_id, tmp_path)
    listed = {e["filename"]: e["sha256"] for e in shared.read_metadata(run_id)["entities"]}
    for ack in acks:
        assert listed.get(ack["filename"]) == ack["sha256"], ack
    sequences = [e["sequence"] for e in doc["entities"]]
    assert sequences == sorted(set(sequences))
    assert set(listed) <= {e["filename"] for e in doc["entities"]}  # the bucket lists all the database does
