"""The pipeline runner records into the shared store: an execute on one `serve --store s3://` replica is one run
that every other replica serves, and `run --store s3://` records there from a terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
from shared_helpers import Replica, check_bucket_run

from pipeline_recorder.stores.shared import SharedStore

INPUT = "Ein kleiner Hund spielt im Garten"


def test_an_execute_on_one_replica_is_served_by_another(shared: SharedStore, replicas: list[Replica],
                                                        tmp_path: Path) -> None:
    first, second = replicas[0], replicas[1]
    answer = httpx.post(f"{first.url}/api/schema/pipeline/execute", timeout=120,
                        json={"schema": "stillepost", "input_text": INPUT, "execution_mode": "eco",
                              "safety_level": "kids"})
    assert answer.status_code == 200, answer.text
    run_id = answer.json()["run_id"]
    status = httpx.get(f"{second.url}/api/pipeline/{run_id}/status", timeout=30)
    assert status.status_code == 200 and status.json()["status"] == "completed"
    by_first = httpx.get(f"{first.url}/api/pipeline/{run_id}/status", timeout=30).json()
    assert status.json() == by_first
    image = httpx.get(f"{second.url}/api/pipeline/{run_id}/entity/output_image", timeout=30)
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    # The bucket holds the run in the folder format (checked by the folder store's own reader), and no replica
    # wrote into its --base-path.
    doc = check_bucket_run(shared, run_id, tmp_path / "download")
    assert [e["filename"] for e in doc["entities"]] == [e["filename"] for e in status.json()["entities"]]
    assert not (tmp_path / "unused-folder" / "pipeline_runs").exists()


def test_run_with_a_store_url_records_into_the_shared_store(shared: SharedStore, tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIPELINE_RECORDER_")}
    done = subprocess.run([sys.executable, "-m", "pipeline_recorder.cli", "run", "stillepost", INPUT, "--store",
                           shared.url, "--database", shared.config.database_url], capture_output=True, text=True,
                          timeout=240, env={**env, "COLUMNS": "200", "NO_COLOR": "1"}, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    run_id = done.stdout.split("run ", 1)[1].split()[0]
    assert f"location: {shared.location(run_id)}" in done.stdout
    doc = shared.read_metadata(run_id)
    assert doc["status"] == "completed" and len(doc["entities"]) >= 5
    assert not (tmp_path / "pipeline_runs").exists()
