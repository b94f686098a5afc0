"""Recording from other processes through a real server: the result equals a local recording; a killed worker's
run reads interrupted once its lease expires; a server killed and restarted mid-run, and a proxy that drops
connections and loses answers, lose and duplicate nothing; a run recorded while the server is down is spooled and
sent later by ``pipeline-recorder sync``; many workers at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from remote_harness import (
    FlakyProxy,
    clean_env,
    comparable,
    entity_files,
    finish_worker,
    metadata,
    run_worker,
    server,
)

from pipeline_recorder.stores import Store, open_store
from support import free_port, wait_until


def same_as_local(tmp_path: Path, served: Path, run_id: str, extra: int = 0, revisions: bool = True) -> None:
    """The run on the server's disk is what a local recorder writes for the same calls (but times and writers)."""
    local = tmp_path / "local"
    finish_worker(run_worker("--local", str(local), run_id, "--extra", str(extra)))
    assert _without_error_hashes(comparable(metadata(served, run_id), revisions=revisions)) == \
        _without_error_hashes(comparable(metadata(local, run_id), revisions=revisions))
    remote_files, local_files = entity_files(served, run_id), entity_files(local, run_id)
    assert sorted(remote_files) == sorted(local_files)
    for name, data in local_files.items():
        if name.endswith("_error.json"):  # an error entity holds the time it was saved
            assert _untimed(remote_files[name]) == _untimed(data)
        else:
            assert remote_files[name] == data, name


def _untimed(data: bytes) -> dict[str, Any]:
    value = json.loads(data)
    value.pop("timestamp")
    return dict(value)


def _without_error_hashes(doc: dict[str, Any]) -> dict[str, Any]:
    # Error entities hold the time they were saved, so their size may match but their hash cannot.
    doc["entities"] = [{k: v for k, v in e.items() if e["type"] != "error" or k != "sha256"}
                       for e in doc["entities"]]
    return doc


def acknowledged(lines: list[dict[str, Any]]) -> list[str]:
    return [line["filename"] for line in lines if line.get("op") == "entity"]


def check_whole(base: Path, run_id: str, acked: list[str], steps: int) -> None:
    """Every acknowledged entity is listed once, with its file; sequences run 1..n without a gap."""
    doc = metadata(base, run_id)
    names = [entity["filename"] for entity in doc["entities"]]
    assert [entity["sequence"] for entity in doc["entities"]] == list(range(1, len(names) + 1))
    assert set(acked) <= set(names)
    indexes = [entity["metadata"]["index"] for entity in doc["entities"] if entity["type"] == "step"]
    assert sorted(indexes) == list(range(steps)), "a step entity is missing or stored twice"
    for name in names:
        assert (base / "pipeline_runs" / run_id / name).is_file()


def test_a_worker_process_records_a_run_through_a_server_it_shares_no_store_with(tmp_path: Path) -> None:
    run_id = str(uuid.uuid4())
    with server(tmp_path / "server") as srv:
        lines = finish_worker(run_worker("--server", srv.url, run_id, "--spool", str(tmp_path / "spool"),
                                         "--extra", "3"))
        status = httpx.get(f"{srv.url}/api/pipeline/{run_id}/status").json()
    assert lines[-1] == {"op": "finished"} and status["status"] == "completed"
    assert acknowledged(lines) == [e["filename"] for e in status["entities"]]
    same_as_local(tmp_path, tmp_path / "server", run_id, extra=3)
    assert not (tmp_path / "spool" / run_id).exists() or not list((tmp_path / "spool" / run_id).glob("*.json"))


def test_a_killed_worker_reads_interrupted_once_its_lease_expires_and_nothing_acknowledged_is_missing(
        tmp_path: Path) -> None:
    run_id = str(uuid.uuid4())
    with server(tmp_path / "server", "--lease-seconds", "1.5") as srv:
        worker = run_worker("--server", srv.url, run_id, "--extra", "20", "--hold-after", "6")
        assert worker.stdout is not None
        lines = []
        while True:
            line = json.loads(worker.stdout.readline())
            if line["op"] == "holding":
                break
            lines.append(line)
        # Alive and silent: the heartbeat keeps renewing the lease, so the run stays running past its term.
        store = open_store(tmp_path / "server")
        first = store.leases(run_id)
        wait_until(lambda: _renewed_twice(store, run_id, first), timeout=60,
                   what="the worker's heartbeat to renew its lease twice")
        assert httpx.get(f"{srv.url}/api/pipeline/{run_id}/status").json()["status"] == "running"
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(30)
        wait_until(lambda: httpx.get(f"{srv.url}/api/pipeline/{run_id}/status").json()["status"] == "interrupted",
                   timeout=60, what="the run to read interrupted")
        listing = httpx.get(f"{srv.url}/api/pipeline/runs").json()["runs"]
        assert [r["status"] for r in listing if r["run_id"] == run_id] == ["interrupted"]
    assert open_store(tmp_path / "server").read_metadata(run_id)["status"] == "interrupted"
    doc = metadata(tmp_path / "server", run_id)
    assert set(acknowledged(lines)) <= {e["filename"] for e in doc["entities"]}
    assert all("pid" not in writer and "host" not in writer for writer in doc["writers"])


def _renewed_twice(store: Store, run_id: str, first: dict[str, float], seen: set[float] = set()) -> bool:  # noqa: B006
    current = store.leases(run_id)
    assert len(current) == 1, current  # the worker's one lease
    ends = next(iter(current.values()))
    if current != first:
        seen.add(ends)
    return len(seen) >= 2


def test_server_killed_and_restarted_mid_run_behind_a_lossy_proxy_loses_and_duplicates_nothing(
        tmp_path: Path) -> None:
    run_id = str(uuid.uuid4())
    steps = 60
    with server(tmp_path / "server") as srv:
        proxy = FlakyProxy(srv.port, drop=0.03, seed=11)
        try:
            worker = run_worker("--server", proxy.url, run_id, "--extra", str(steps), "--retry", "120",
                                "--spool", str(tmp_path / "spool"))
            assert worker.stdout is not None
            lines = [json.loads(worker.stdout.readline()) for _ in range(15)]
            srv.kill()
            srv.start()
            out, err = worker.communicate(timeout=300)
            assert worker.returncode == 0, err[-3000:]
            lines += [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        finally:
            proxy.close()
        assert proxy.dropped > 0
    assert lines[-1] == {"op": "finished"}
    check_whole(tmp_path / "server", run_id, acknowledged(lines), steps)
    assert metadata(tmp_path / "server", run_id)["status"] == "completed"
    same_as_local(tmp_path, tmp_path / "server", run_id, extra=steps, revisions=False)


def test_a_run_recorded_while_the_server_is_down_is_spooled_and_sync_sends_it_later(tmp_path: Path) -> None:
    run_id = str(uuid.uuid4())
    port = free_port()
    spool = tmp_path / "spool"
    lines = finish_worker(run_worker("--server", f"http://127.0.0.1:{port}", run_id, "--spool", str(spool),
                                     "--retry", "0.3", "--extra", "3"))
    assert lines[-1] == {"op": "finished"}
    assert len(list((spool / run_id).glob("*.json"))) > 10
    base = tmp_path / "server"
    base.mkdir()
    from remote_harness import Server

    srv = Server(base, port, ())
    srv.start()
    try:
        done = subprocess.run([sys.executable, "-m", "pipeline_recorder.cli", "sync", str(spool)],
                              capture_output=True, text=True, timeout=120, env=clean_env())
        assert done.returncode == 0, done.stderr
        assert f"{run_id}: sent" in done.stdout
        again = subprocess.run([sys.executable, "-m", "pipeline_recorder.cli", "sync", str(spool)],
                               capture_output=True, text=True, timeout=120, env=clean_env())
        assert again.returncode == 0 and "sent" not in again.stdout
    finally:
        srv.stop()
    assert acknowledged(lines) == [e["filename"] for e in metadata(base, run_id)["entities"]]
    same_as_local(tmp_path, base, run_id, extra=3)


def test_a_live_recorder_sends_its_spool_once_the_server_is_back(tmp_path: Path) -> None:
    from pipeline_recorder import RemoteRecorder

    port = free_port()
    run_id = str(uuid.uuid4())
    rec = RemoteRecorder(f"http://127.0.0.1:{port}", run_id, "c", "eco", "kids", spool_dir=tmp_path / "spool",
                         retry_seconds=0.2, expected_outputs=["input"])
    names = [rec.save_entity("input", f"text {i}") for i in range(5)]
    rec.mark_complete()
    assert names == [f"{i:02d}_input.txt" for i in range(1, 6)]
    base = tmp_path / "server"
    base.mkdir()
    from remote_harness import Server

    srv = Server(base, port, ())
    srv.start()
    try:
        assert rec.flush(timeout=120)
        rec.close()
        doc = metadata(base, run_id)
    finally:
        srv.stop()
    assert [e["filename"] for e in doc["entities"]] == names and doc["status"] == "completed"
    assert [(base / "pipeline_runs" / run_id / n).read_text() for n in names] == [f"text {i}" for i in range(5)]


@pytest.mark.slow
def test_eight_workers_times_twenty_runs_into_one_server(tmp_path: Path) -> None:
    prefix = uuid.uuid4().hex[:8]
    with server(tmp_path / "server", "--workers", "2") as srv:
        workers = [run_worker("--server", srv.url, f"{prefix}-w{w}", "--runs", "20", "--retry", "120",
                              "--spool", str(tmp_path / "spool")) for w in range(8)]
        outputs = [finish_worker(worker, timeout=900) for worker in workers]
    for w, lines in enumerate(outputs):
        runs = [line["run_id"] for line in lines if line["op"] == "created"]
        assert len(runs) == 20
        per_run: dict[str, list[str]] = {}
        current = None
        for line in lines:
            if line["op"] == "created":
                current = line["run_id"]
            elif line["op"] == "entity":
                assert current is not None
                per_run.setdefault(current, []).append(line["filename"])
        for run_id in runs:
            doc = metadata(tmp_path / "server", run_id)
            assert doc["status"] == "completed", (w, run_id)
            assert [e["filename"] for e in doc["entities"]] == per_run[run_id]
