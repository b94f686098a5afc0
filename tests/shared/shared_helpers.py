"""Helpers of the shared-store tests: the folder copy of a shared run (the oracle: the folder store's own reader
and checks), starting worker processes, and `serve` replicas on one shared store."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from pipeline_recorder.document import MetadataDocument, parse_metadata
from pipeline_recorder.naming import RUNS_DIRNAME
from pipeline_recorder.stores import FolderStore
from pipeline_recorder.stores.shared import SharedStore
from support import free_port, wait_until

WORKERS = Path(__file__).with_name("shared_workers.py")


@dataclass
class Replica:
    url: str
    process: subprocess.Popen[bytes]


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/pipeline/runs", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


@contextlib.contextmanager
def serving_replicas(store_url: str, database_url: str, folder: Path, count: int = 3,
                     env: dict[str, str] | None = None) -> Iterator[list[Replica]]:
    """``count`` `pipeline-recorder serve --store` processes on one bucket and database, stopped by pid after."""
    started: list[Replica] = []
    try:
        for n in range(count):
            port = free_port()
            log = open(folder / f"replica-{n}.log", "wb")  # noqa: SIM115 -- the replica's log, open while it runs
            process = subprocess.Popen(
                [sys.executable, "-m", "pipeline_recorder.cli", "serve", "--port", str(port), "--store", store_url,
                 "--database", database_url, "--base-path", str(folder / "unused-folder")],
                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
            log.close()
            started.append(Replica(f"http://127.0.0.1:{port}", process))
        for replica in started:
            wait_until(lambda r=replica: r.process.poll() is None and _answers(r.url), 60, f"{replica.url} to serve")
        yield started
    finally:
        for replica in started:
            replica.process.send_signal(signal.SIGTERM)
        for replica in started:
            try:
                replica.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                replica.process.kill()
                replica.process.wait()


def download(store: SharedStore, run_id: str, base: Path) -> Path:
    """Copy every object of a shared run into ``base/pipeline_runs/{run_id}/`` as files (what `aws s3 cp
    --recursive` would do), so the folder store's reader can judge it."""
    folder = base / RUNS_DIRNAME / run_id
    folder.mkdir(parents=True, exist_ok=True)
    prefix = f"{store.config.runs_prefix}/{run_id}/"
    for info in store.bucket.objects(prefix):
        (folder / info.key[len(prefix):]).write_bytes(store.bucket.get(info.key))
    return folder


def check_bucket_run(store: SharedStore, run_id: str, tmp: Path) -> dict[str, Any]:
    """The bucket's copy of a run, checked the way `verify` checks a folder: metadata.json parses with the folder
    store's reader, follows the format, is in the writer's canonical layout, and every listed entity exists with
    its size and hash. Returns the parsed document."""
    folder = download(store, run_id, tmp)
    data = (folder / "metadata.json").read_bytes()
    doc = parse_metadata(data, folder / "metadata.json")
    assert MetadataDocument.from_dict(doc).to_bytes() == data, "not in the folder writer's layout"
    for entity in doc["entities"]:
        content = (folder / entity["filename"]).read_bytes()
        assert len(content) == entity["size"], entity
        assert hashlib.sha256(content).hexdigest() == entity["sha256"], entity
    assert FolderStore(tmp).read_metadata(run_id)["run_id"] == run_id
    return doc


def object_names(store: SharedStore, run_id: str) -> list[str]:
    """The names of the objects under the run's prefix, as `ls` would show its folder (hidden ones too)."""
    prefix = f"{store.config.runs_prefix}/{run_id}/"
    return sorted(info.key[len(prefix):] for info in store.bucket.objects(prefix))


def start_worker(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(WORKERS.parent.parent), *sys.path])}
    return subprocess.Popen([sys.executable, str(WORKERS), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env=env)


def read_acks(proc: subprocess.Popen[str]) -> list[dict[str, Any]]:
    assert proc.stdout is not None
    return [json.loads(line) for line in proc.stdout.read().splitlines() if line.startswith("{")]
