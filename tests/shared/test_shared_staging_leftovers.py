"""What a writer killed between uploading a large entity and its commit leaves in the shared store: a hidden
``.staging-*`` object. ``verify`` reports it once it is old enough that no live writer can still be using it (by
its last-modified time in the bucket), ``verify --repair`` and ``gc --delete`` delete it, and a young one -- a live
writer's upload, about to be copied into place -- is never touched. Real PostgreSQL and moto_server, a real
writer process killed with SIGKILL."""

from __future__ import annotations

import io
import json
import os
import signal

import pytest
from shared_helpers import object_names, start_worker
from typer.testing import CliRunner

from pipeline_recorder import LivePipelineRecorder, new_run_id
from pipeline_recorder.cli import app
from pipeline_recorder.ops.findings import LEFTOVER
from pipeline_recorder.ops.repair import repair_leftovers
from pipeline_recorder.ops.verify import check_store
from pipeline_recorder.stores.shared import SharedStore, staging
from pipeline_recorder.stores.shared.objects import PART_SIZE
from pipeline_recorder.stores.shared.staging import STAGING_ABANDONED_AFTER_S, SharedStaged

# The objects of a run with one entity (the worker's first save), which no repair or gc may touch.
RUN_OBJECTS = ["01_input.txt", "metadata.json"]


def killed_writer_staging(shared: SharedStore, store_url: str, database_url: str) -> tuple[str, str]:
    """(run id, key) of a staged object whose writer process was killed with SIGKILL before its commit."""
    run_id = new_run_id()
    proc = start_worker("stage", store_url, database_url, run_id)
    assert proc.stdout is not None
    key = json.loads(proc.stdout.readline())["staged"]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert key.startswith(f"{shared.config.runs_prefix}/{run_id}/.staging-")
    return run_id, key


def upload_findings(shared: SharedStore, now: float | None = None) -> list[str]:
    return [f.message for f in check_store(shared, now=now).findings if f.code == LEFTOVER and f.fixable]


def test_a_killed_writers_staged_object_is_reported_once_old_and_repaired_away(
        shared: SharedStore, store_url: str, database_url: str) -> None:
    run_id, key = killed_writer_staging(shared, store_url, database_url)
    name = key.rsplit("/", 1)[-1]
    assert object_names(shared, run_id) == sorted([*RUN_OBJECTS, name])
    modified = shared.bucket.head(key).modified  # the bucket's own date of the object: the oracle of its age
    # Young (judged by the database's clock, and just short of the age): a live writer may still copy it.
    assert upload_findings(shared) == []
    assert upload_findings(shared, now=modified + STAGING_ABANDONED_AFTER_S - 1) == []
    later = modified + STAGING_ABANDONED_AFTER_S + 1
    [message] = upload_findings(shared, now=later)
    assert f"{run_id}/{name} is an entity upload whose writer was killed" in message
    assert repair_leftovers(shared, now=later) == [
        f"removed {run_id}/{name} (left by an interrupted entity upload)"]
    assert object_names(shared, run_id) == RUN_OBJECTS
    assert check_store(shared, now=later).findings == []  # the run itself is untouched and clean


def test_a_live_writers_young_staged_object_is_never_touched(shared: SharedStore) -> None:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=shared)
    rec.save_entity("input", "Hallo")
    data = os.urandom(PART_SIZE + 1)
    staged = shared.stage_entity(rec.run_id, io.BytesIO(data))
    assert isinstance(staged, SharedStaged) and staged.key is not None
    assert upload_findings(shared) == []
    assert repair_leftovers(shared) == []
    runner = CliRunner()
    env = {"PIPELINE_RECORDER_STORE": shared.config.url, "PIPELINE_RECORDER_DATABASE_URL": shared.config.database_url}
    result = runner.invoke(app, ["gc", "--delete", "--json"], env=env)
    assert result.exit_code == 0 and json.loads(result.output)["leftovers"] == [], result.output
    assert shared.bucket.get(staged.key) == data  # still there, whole, for the writer's commit to copy into place
    staged.discard()


def test_gc_deletes_what_the_store_judges_abandoned(shared: SharedStore, store_url: str, database_url: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    run_id, key = killed_writer_staging(shared, store_url, database_url)
    name = key.rsplit("/", 1)[-1]
    env = {"PIPELINE_RECORDER_STORE": store_url, "PIPELINE_RECORDER_DATABASE_URL": database_url}
    runner = CliRunner()
    young = runner.invoke(app, ["gc", "--delete", "--json"], env=env)
    assert young.exit_code == 0 and json.loads(young.output)["leftovers"] == [], young.output
    assert name in object_names(shared, run_id)
    monkeypatch.setattr(staging, "STAGING_ABANDONED_AFTER_S", -3600.0)  # every staged object counts as old
    dry = runner.invoke(app, ["gc"], env=env)
    assert f"would finish removing {run_id}/{name} (left by an interrupted entity upload)" in dry.output, dry.output
    assert name in object_names(shared, run_id)
    done = runner.invoke(app, ["gc", "--delete", "--json"], env=env)
    assert json.loads(done.output)["leftovers"] == [f"{run_id}/{name}"], done.output
    assert object_names(shared, run_id) == RUN_OBJECTS
