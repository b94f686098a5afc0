"""Import checks what it can before writing anything: a 1 GB member behind an invalid metadata.json is refused
without a byte of it written; the total is capped; an archive larger than the free space is refused."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest

from pipeline_recorder import LivePipelineRecorder, RunStore, errors, new_run_id
from pipeline_recorder.ops import archive, importing

GIB = 1024**3


def bytes_written_by_this_process() -> int:
    """What this process has passed to write() so far, by the kernel's count (any file, any folder)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise AssertionError("no wchar in /proc/self/io")


def exported(tmp_path: Path) -> Path:
    rec = LivePipelineRecorder(new_run_id(), "haiku", "eco", "kids", base_path=tmp_path / "source",
                               expected_outputs=["input"])
    rec.save_entity("input", "Ein Baum")
    rec.mark_complete()
    path = tmp_path / "one.zip"
    archive.export_runs(RunStore(tmp_path / "source"), [rec.run_id], path)
    return path


def test_a_1gb_member_behind_an_invalid_metadata_json_is_refused_before_any_of_it_is_written(tmp_path: Path) -> None:
    run_id = new_run_id()
    metadata = b'{"run_id": "' + run_id.encode() + b'", "this is": "not the run format"}'
    big_name = f"{run_id}/01_input.txt"
    path = tmp_path / "big.zip"
    chunk = bytes(1024 * 1024)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        files = [{"path": f"{run_id}/metadata.json", "size": len(metadata),
                  "sha256": hashlib.sha256(metadata).hexdigest()},
                 {"path": big_name, "size": GIB, "sha256": "0" * 64}]
        zf.writestr("manifest.json", json.dumps({"format": "pipeline-recorder-export", "version": 1,
                                                 "runs": [run_id], "files": files}))
        zf.writestr(f"{run_id}/metadata.json", metadata)
        big = zipfile.ZipInfo(big_name)
        big.compress_type = zipfile.ZIP_DEFLATED  # 1 GiB of zeros is about 1 MB in the archive
        with zf.open(big, "w", force_zip64=True) as member:
            for _ in range(GIB // len(chunk)):
                member.write(chunk)
    assert path.stat().st_size < 50 * 1024 * 1024
    store = RunStore(tmp_path / "store")
    before = bytes_written_by_this_process()
    with pytest.raises(errors.ArchiveRefusedError, match="does not follow the run format"):
        importing.import_archive(store, path)
    assert bytes_written_by_this_process() - before < 10 * 1024 * 1024
    assert not store.runs_dir.exists()


def test_an_archive_above_the_cap_is_refused_before_writing(tmp_path: Path) -> None:
    path = exported(tmp_path)
    store = RunStore(tmp_path / "store")
    with pytest.raises(errors.ArchiveRefusedError, match="more than the 100 an import may unpack"):
        importing.import_archive(store, path, max_total=100)
    assert not store.runs_dir.exists()
    assert importing.import_archive(store, path)  # within the default cap it imports


def test_an_archive_larger_than_the_free_space_is_refused_before_writing(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = exported(tmp_path)
    store = RunStore(tmp_path / "store")
    real = shutil.disk_usage(tmp_path)

    def almost_full(where: Any) -> Any:
        return real._replace(free=importing.FREE_SPACE_RESERVE + 10)

    monkeypatch.setattr(importing.shutil, "disk_usage", almost_full)
    with pytest.raises(errors.ArchiveRefusedError, match="free some space"):
        importing.import_archive(store, path)
    assert not store.runs_dir.exists()
    monkeypatch.undo()
    assert len(importing.import_archive(store, path)) == 1
    assert os.listdir(store.runs_dir)
