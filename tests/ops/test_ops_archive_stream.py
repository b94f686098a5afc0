"""The streamed zip export (for GET /api/pipeline/{run_id}/export) and import's all-or-nothing placement."""

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import pytest

from pipeline_recorder import LivePipelineRecorder, RunStore, atomic, new_run_id
from pipeline_recorder.errors import CorruptRunError, InvalidRunIdError, RunExistsError, RunNotFoundError
from pipeline_recorder.ops import archive, importing


def recorded(base: Path, big: int = 0) -> LivePipelineRecorder:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=base)
    rec.save_entity("input", "Hallo")
    if big:
        rec.save_entity("output_audio", os.urandom(big), {"format": "bin"})
    rec.mark_complete()
    return rec


def test_iter_zip_export_streams_a_valid_zip_in_many_chunks(tmp_path: Path) -> None:
    rec = recorded(tmp_path, big=3 * 1024 * 1024)
    chunks = list(archive.iter_zip_export(RunStore(tmp_path), [rec.run_id]))
    assert len(chunks) > 3  # handed out piece by piece, not built whole first
    assert max(len(c) for c in chunks) <= 2 * 1024 * 1024
    with zipfile.ZipFile(io.BytesIO(b"".join(chunks))) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        for entry in manifest["files"]:
            assert hashlib.sha256(zf.read(entry["path"])).hexdigest() == entry["sha256"]
        assert zf.read(f"{rec.run_id}/02_output_audio.bin") == (rec.run_folder / "02_output_audio.bin").read_bytes()


def test_iter_zip_export_raises_before_the_first_byte_for_unknown_or_malformed_runs(tmp_path: Path) -> None:
    with pytest.raises(RunNotFoundError):
        archive.iter_zip_export(RunStore(tmp_path), ["no-such-run"])
    with pytest.raises(InvalidRunIdError):
        archive.iter_zip_export(RunStore(tmp_path), ["../x"])


def test_iter_zip_export_stops_with_an_error_when_an_entity_changed_on_disk(tmp_path: Path) -> None:
    rec = recorded(tmp_path)
    stream = archive.iter_zip_export(RunStore(tmp_path), [rec.run_id])
    (rec.run_folder / "01_input.txt").write_text("swapped")
    with pytest.raises(CorruptRunError):
        b"".join(stream)


def test_an_import_whose_run_appears_meanwhile_takes_back_what_it_placed(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "src"
    first, second = recorded(source), recorded(source)
    export = tmp_path / "two.zip"
    archive.export_runs(RunStore(source), [first.run_id, second.run_id], export)
    target = RunStore(tmp_path / "dst")
    later = sorted([first.run_id, second.run_id])[1]
    # The later run (in placing order) turns up as an empty folder just before the rename: never replaced.
    real_rename = atomic.rename_noreplace

    def racing(src: Path, dst: Path) -> None:
        if dst.name == later:
            dst.mkdir()
        real_rename(src, dst)

    monkeypatch.setattr(atomic, "rename_noreplace", racing)
    with pytest.raises(RunExistsError):
        importing.import_archive(target, export)
    assert sorted(os.listdir(target.runs_dir)) == [later]
    assert os.listdir(target.runs_dir / later) == []
