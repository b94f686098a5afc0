"""The reading and ops commands on the shared store (`--store s3://... --database postgresql://...`), run as a user
runs them (subprocesses), against real PostgreSQL and moto_server on loopback: ls, show, watch, verify, gc, export
and import answer as they do for a folder."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from cli_harness import PNG, Result, cli, cli_command, cli_env

from pipeline_recorder import LivePipelineRecorder, new_run_id
from pipeline_recorder.stores import FolderStore
from pipeline_recorder.stores.shared import SharedStore
from shared_backend import environment, servers
from support import wait_until


@dataclass
class Shared:
    store: SharedStore
    env: dict[str, str]  # the AWS_* variables of the S3 server

    @property
    def args(self) -> tuple[str, ...]:
        return ("--store", self.store.url, "--database", self.store.config.database_url)

    def cli(self, *args: str) -> Result:
        return cli(*args, *self.args, env=self.env)


@pytest.fixture
def shared() -> Iterator[Shared]:
    postgres, s3 = servers()
    database = postgres.new_database()
    with environment(s3.env()):
        store = SharedStore.open(f"s3://{s3.new_bucket()}/cli", database)
        try:
            yield Shared(store, s3.env())
        finally:
            store.close()


def _run(base: object, status: str | None = "completed", config: str = "stillepost") -> LivePipelineRecorder:
    rec = LivePipelineRecorder(new_run_id(), config, "eco", "kids", base_path=base,  # type: ignore[arg-type]
                               expected_outputs=["input", "output_image"])
    rec.set_state(1, "translation_and_safety")
    rec.save_entity("input", "Ein kleiner Hund")
    rec.save_entity("output_image", PNG)
    if status is not None:
        rec.finish(status)
    return rec


def test_ls_and_show_read_the_shared_store(shared: Shared) -> None:
    first, second = _run(shared.store), _run(shared.store, "failed", config="haiku")
    listed = shared.cli("ls", "--json")
    assert listed.code == 0, listed.text
    assert [run["run_id"] for run in json.loads(listed.out)] == [second.run_id, first.run_id]
    filtered = shared.cli("ls", "--status", "failed")
    assert filtered.code == 0 and second.run_id in filtered.out and first.run_id not in filtered.out
    empty = shared.cli("ls", "--config", "nothing")
    assert f"no runs in {shared.store.url} match the filters" in empty.out

    shown = shared.cli("show", first.run_id[:8])
    assert shown.code == 0, shown.text
    assert re.search(rf"^location +{re.escape(shared.store.location(first.run_id))} *$", shown.out, re.M), shown.out
    assert "01_input.txt" in shown.out and "02_output_image.png" in shown.out
    as_json = shared.cli("show", first.run_id, "--json")
    assert json.loads(as_json.out) == shared.store.read_metadata(first.run_id)
    missing = shared.cli("show", new_run_id())
    assert missing.code != 0 and "not found" in missing.err


def test_the_store_can_come_from_the_environment(shared: Shared) -> None:
    rec = _run(shared.store)
    env = {**shared.env, "PIPELINE_RECORDER_STORE": shared.store.url,
           "PIPELINE_RECORDER_DATABASE_URL": shared.store.config.database_url}
    listed = cli("ls", "--json", env=env)
    assert listed.code == 0, listed.text
    assert [run["run_id"] for run in json.loads(listed.out)] == [rec.run_id]


def test_watch_follows_a_run_written_elsewhere(shared: Shared) -> None:
    rec = _run(shared.store, None)
    watcher = subprocess.Popen(cli_command("watch", rec.run_id, *shared.args), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=cli_env(shared.env))
    try:
        # The watcher is following once the store's LISTEN connection of its process is in place.
        wait_until(lambda: _listening(shared, watcher.pid), 60, "watch to follow the run")
        rec.save_entity("translation", "A small dog")
        rec.finish("completed")
        out, err = watcher.communicate(timeout=60)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
    assert watcher.returncode == 0, err
    assert "03_translation.txt" in out
    assert f"location: {shared.store.location(rec.run_id)}" in out


def _listening(shared: Shared, pid: int) -> bool:
    """Whether process ``pid`` has its LISTEN connection in place (it names its process in application_name)."""
    with psycopg.connect(shared.store.config.database_url) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                           (f"pipeline-recorder {pid} listen",)).fetchone()
    return bool(row and row[0])


def test_verify_checks_every_entity_in_the_bucket(shared: Shared) -> None:
    clean, damaged = _run(shared.store), _run(shared.store)
    result = shared.cli("verify")
    assert result.code == 0 and "checked 2 run(s): all clean" in result.out, result.text
    shared.store.bucket.put(shared.store.runs.key(damaged.run_id, "02_output_image.png"),
                            PNG[:-1] + bytes([PNG[-1] ^ 1]))
    result = shared.cli("verify", "--json")
    assert result.code == 1, result.text
    report = json.loads(result.out)
    assert [(f["run_id"], f["code"]) for f in report["findings"]] == [(damaged.run_id, "entity_hash")]
    assert shared.cli("verify", clean.run_id).code == 0
    # --repair deletes only abandoned uploads there (none here): a changed entity stays, reported.
    repaired = shared.cli("verify", "--repair", "--json")
    assert repaired.code == 1, repaired.text
    assert json.loads(repaired.out)["actions"] == []
    assert [f["code"] for f in json.loads(repaired.out)["findings"]] == ["entity_hash"]


def test_gc_removes_from_the_shared_store(shared: Shared) -> None:
    failed, running = _run(shared.store, "failed"), _run(shared.store, None)
    dry = shared.cli("gc", "--status", "failed")
    assert dry.code == 0 and failed.run_id in dry.out and "dry run: 1 run(s) would be removed" in dry.out
    assert shared.store.run_exists(failed.run_id)
    done = shared.cli("gc", "--status", "failed", "--delete", "--json")
    assert done.code == 0, done.text
    assert json.loads(done.out)["removed"] == [failed.run_id]
    assert sorted(shared.store.run_ids()) == [running.run_id]
    assert list(shared.store.bucket.objects(f"{shared.store.config.runs_prefix}/{failed.run_id}")) == []


def test_export_and_import_between_a_folder_and_the_shared_store(shared: Shared, tmp_path: Path) -> None:
    rec = _run(shared.store)
    archive = tmp_path / "run.zip"
    exported = shared.cli("export", rec.run_id[:8], "-o", str(archive))
    assert exported.code == 0, exported.text
    folder = FolderStore(tmp_path / "folder")
    imported = cli("import", str(archive), "--base-path", str(folder.base_path))
    assert imported.code == 0, imported.text
    run_dir = folder.run_folder(rec.run_id)
    assert (run_dir / "metadata.json").read_bytes() == shared.store.read_document_bytes(rec.run_id)
    assert (run_dir / "02_output_image.png").read_bytes() == PNG

    shared.store.delete_run(rec.run_id)
    again = shared.cli("import", str(archive))
    assert again.code == 0, again.text
    assert f"imported {rec.run_id} into {shared.store.location(rec.run_id)}" in again.out
    assert shared.store.read_document_bytes(rec.run_id) == (run_dir / "metadata.json").read_bytes()
    twice = shared.cli("import", str(archive))
    assert twice.code != 0 and "already exists" in twice.err, twice.text


def test_a_store_url_of_an_unknown_scheme_is_refused(tmp_path: Path) -> None:
    result = cli("ls", "--store", "ftp://host/runs")
    assert result.code == 2 and "unknown store URL scheme 'ftp'" in result.err, result.text
