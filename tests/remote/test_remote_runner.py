"""The pipeline runner records through the same seams as the library: a worker's `run --here` and a worker
server's execute route record through a recorder server they share no store with (PIPELINE_RECORDER_SERVER), and
the result on the server's disk is what a local run writes, byte for byte (apart from times and writer info)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from remote_harness import Server, clean_env, comparable, entity_files, metadata, server

from support import free_port, wait_until

INPUT = "Ein kleiner Hund spielt im Garten"


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`pipeline-recorder ARGS` as a user runs it (nothing of this process's PIPELINE_RECORDER_* passed on)."""
    return subprocess.run([sys.executable, "-m", "pipeline_recorder.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=240, env=clean_env({"COLUMNS": "200", "NO_COLOR": "1"}))


def _run_id(out: str) -> str:
    return out.split("run ", 1)[1].split()[0]


def _same_run(doc: dict[str, object]) -> dict[str, object]:
    """A run's metadata without what differs between two recordings of one pipeline: times, writer info, the id."""
    out = comparable(doc)  # type: ignore[arg-type]
    out.pop("run_id")
    return out


@pytest.fixture
def central(tmp_path: Path) -> Iterator[Server]:
    with server(tmp_path / "central") as live:
        yield live


@pytest.fixture
def local_oracle(tmp_path: Path) -> tuple[dict[str, object], dict[str, bytes]]:
    """The same pipeline run recorded locally: what the remote recording must equal."""
    base = tmp_path / "local"
    result = cli("run", "stillepost", INPUT, "--base-path", str(base))
    assert result.returncode == 0, result.stdout + result.stderr
    run_id = _run_id(result.stdout)
    return _same_run(metadata(base, run_id)), entity_files(base, run_id)


def test_a_workers_run_is_recorded_through_the_server(central: Server, tmp_path: Path,
                                                      local_oracle: tuple[dict[str, object], dict[str, bytes]]) -> None:
    worker_dir = tmp_path / "worker"
    worker_dir.mkdir()
    result = cli("run", "stillepost", INPUT, "--here", "--server", central.url, "--base-path", str(worker_dir),
                 cwd=worker_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    run_id = _run_id(result.stdout)
    assert f"{central.url}/api/pipeline/{run_id}/status" in result.stdout
    assert not (worker_dir / "pipeline_runs").exists()  # nothing recorded on the worker's machine
    doc = metadata(central.base, run_id)
    assert doc["status"] == "completed"
    assert all("lease" in w and "pid" not in w for w in doc["writers"])  # a remote writer: no pid, no host
    expected_doc, expected_files = local_oracle
    assert entity_files(central.base, run_id) == expected_files
    assert _same_run(doc) == expected_doc


def test_the_execute_route_of_a_worker_records_through_the_server(
        central: Server, tmp_path: Path, local_oracle: tuple[dict[str, object], dict[str, bytes]]) -> None:
    worker_dir = tmp_path / "worker"
    worker_dir.mkdir()
    port = free_port()
    with open(tmp_path / "worker.log", "wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "pipeline_recorder.cli", "serve", "--port", str(port), "--base-path",
             str(worker_dir)], stdout=log, stderr=subprocess.STDOUT,
            env=clean_env({"PIPELINE_RECORDER_SERVER": central.url}))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _answers(worker, url), 60, "the worker server to answer")
        answer = httpx.post(f"{url}/api/schema/pipeline/execute", timeout=120,
                            json={"schema": "stillepost", "input_text": INPUT, "execution_mode": "eco",
                                  "safety_level": "kids"})
    finally:
        worker.terminate()
        worker.wait(30)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    run_id = body["run_id"]
    # The run is read where it is recorded; only the cancel route is the worker's own.
    assert body["status_url"] == f"{central.url}/api/pipeline/{run_id}/status"
    assert body["cancel_url"] == f"/api/pipeline/{run_id}/cancel"
    assert httpx.get(body["status_url"]).json()["status"] == "completed"
    assert not (worker_dir / "pipeline_runs").exists()
    expected_doc, expected_files = local_oracle
    assert entity_files(central.base, run_id) == expected_files
    assert _same_run(metadata(central.base, run_id)) == expected_doc
    assert json.loads(httpx.get(f"{central.url}/api/pipeline/{run_id}/status").text)["run_id"] == run_id


def _answers(process: subprocess.Popen[bytes], url: str) -> bool:
    if process.poll() is not None:
        raise AssertionError(f"the worker server exited with {process.returncode}")
    try:
        return httpx.get(f"{url}/api/schema/configs", timeout=2).status_code == 200
    except httpx.TransportError:
        return False
