"""`pipeline-recorder migrate SOURCE TARGET`: folder -> shared store -> folder, byte for byte, checked by hash,
resumable after kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from shared_helpers import object_names

from pipeline_recorder import LivePipelineRecorder
from pipeline_recorder.naming import new_run_id
from pipeline_recorder.stores import FolderStore
from pipeline_recorder.stores.shared import SharedStore

PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(200_000)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline_recorder.cli", *args], capture_output=True, text=True,
                          timeout=300)


def _folder_with_runs(base: Path, count: int) -> list[str]:
    run_ids = []
    for n in range(count):
        rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", f"user{n % 3}", base_path=base)
        rec.save_entity("input", f"Ein kleiner Hund {n}")
        rec.save_entity("safety", {"safe": True, "n": n})
        if n % 2 == 0:
            rec.save_entity("output_image", PNG)
            rec.mark_complete()
        run_ids.append(rec.run_id)
    return run_ids


def _tree(base: Path) -> dict[str, bytes]:
    """Every run file under a folder store, by relative path (helper files, starting with '.', left out)."""
    runs = base / "pipeline_runs"
    return {str(p.relative_to(runs)): p.read_bytes() for p in sorted(runs.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(runs).parts)}


def test_runs_go_from_a_folder_to_the_shared_store_and_back_byte_for_byte(
        shared: SharedStore, store_url: str, database_url: str, tmp_path: Path) -> None:
    source = tmp_path / "source"
    run_ids = _folder_with_runs(source, 4)
    there = _cli("migrate", str(source), store_url, "--database", database_url)
    assert there.returncode == 0, there.stderr
    assert "4 copied, 0 already there, 0 failed" in there.stdout
    folder = FolderStore(source)
    for run_id in run_ids:
        assert shared.read_document_bytes(run_id) == folder.read_document_bytes(run_id)
        names = sorted(p.name for p in (source / "pipeline_runs" / run_id).iterdir() if not p.name.startswith("."))
        assert object_names(shared, run_id) == names
    again = _cli("migrate", str(source), store_url, "--database", database_url)
    assert again.returncode == 0 and "0 copied, 4 already there" in again.stdout

    back = tmp_path / "back"
    home = _cli("migrate", store_url, str(back), "--database", database_url)
    assert home.returncode == 0, home.stderr
    assert _tree(back) == _tree(source)


def test_a_migration_killed_midway_finishes_when_run_again(shared: SharedStore, store_url: str, database_url: str,
                                                          tmp_path: Path) -> None:
    source = tmp_path / "source"
    run_ids = _folder_with_runs(source, 10)
    proc = subprocess.Popen([sys.executable, "-m", "pipeline_recorder.cli", "migrate", str(source), store_url,
                             "--database", database_url], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("copied")  # the first run is in; kill it during the next ones
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    finish = _cli("migrate", str(source), store_url, "--database", database_url)
    assert finish.returncode == 0, finish.stderr
    assert "0 failed" in finish.stdout and " already there" in finish.stdout
    assert not finish.stdout.startswith("0 copied, 10 already there")  # it did have work left
    folder = FolderStore(source)
    assert sorted(shared.run_ids()) == sorted(run_ids)
    for run_id in run_ids:
        assert shared.read_document_bytes(run_id) == folder.read_document_bytes(run_id)


def test_an_entity_that_does_not_match_its_hash_stops_that_run_only(shared: SharedStore, store_url: str,
                                                                   database_url: str, tmp_path: Path) -> None:
    source = tmp_path / "source"
    good, bad = _folder_with_runs(source, 2)
    entity = source / "pipeline_runs" / bad / "01_input.txt"
    entity.write_bytes(entity.read_bytes().swapcase())  # same size, other bytes
    result = _cli("migrate", str(source), store_url, "--database", database_url)
    assert result.returncode == 1
    assert f"run {bad}" in result.stderr and "does not match its record" in result.stderr
    assert "1 copied, 0 already there, 1 failed" in result.stdout
    assert set(shared.run_ids()) == {good}  # nothing of the refused run is left in the target
