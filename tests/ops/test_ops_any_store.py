"""verify, gc, export and import through the Store interface, on every kind of store (``any_store``): the same
answers for the folder store and the shared store (real PostgreSQL and moto_server on loopback)."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline_recorder import LivePipelineRecorder, new_run_id
from pipeline_recorder.errors import ArchiveRefusedError, RunExistsError
from pipeline_recorder.ops.archive import export_runs
from pipeline_recorder.ops.importing import import_archive
from pipeline_recorder.ops.repair import repair_leftovers
from pipeline_recorder.ops.retention import GcRules, plan_gc, remove_run
from pipeline_recorder.ops.verify import ENTITY_HASH, ENTITY_MISSING, ENTITY_SIZE, check_store
from pipeline_recorder.stores import FolderStore, Store
from pipeline_recorder.stores.shared import SharedStore

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def _run(store: Store, status: str | None = "completed") -> LivePipelineRecorder:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=store,
                               expected_outputs=["input", "output_image"])
    rec.save_entity("input", "Ein kleiner Hund")
    rec.save_entity("output_image", PNG)
    if status is not None:
        rec.finish(status)
    return rec


def _overwrite(store: Store, run_id: str, filename: str, data: bytes | None) -> None:
    """Change (or with None remove) a stored entity behind the store's back, as damage would."""
    if isinstance(store, SharedStore):
        key = store.runs.key(run_id, filename)
        if data is None:
            store.bucket.delete(key)
        else:
            store.bucket.put(key, data)
        return
    assert isinstance(store, FolderStore)
    path = store.run_folder(run_id) / filename
    if data is None:
        path.unlink()
    else:
        path.write_bytes(data)


def _contents(store: Store, run_id: str) -> dict[str, bytes]:
    """A run's document and every entity's bytes, read through the store (the oracle of a copy)."""
    doc = json.loads(store.read_document_bytes(run_id))
    found = {"metadata.json": store.read_document_bytes(run_id)}
    for record in doc["entities"]:
        entity = store.open_entity(run_id, record)
        with entity.file as f:
            found[record["filename"]] = f.read()
    return found


def test_verify_finds_what_is_wrong_on_any_store(any_store: Store) -> None:
    clean, damaged = _run(any_store), _run(any_store)
    report = check_store(any_store)
    assert report.clean and len(report.runs) == 2

    _overwrite(any_store, damaged.run_id, "02_output_image.png", b"\x89PNG\r\n\x1a\n" + b"x" * 1024)  # same size
    _overwrite(any_store, damaged.run_id, "01_input.txt", b"Ein grosser Hund!")  # another size
    codes = {f.code for f in check_store(any_store, [damaged.run_id]).findings}
    assert codes == {ENTITY_HASH, ENTITY_SIZE}
    _overwrite(any_store, damaged.run_id, "02_output_image.png", None)
    codes = {f.code for f in check_store(any_store, [damaged.run_id]).findings}
    assert codes == {ENTITY_MISSING, ENTITY_SIZE}
    assert check_store(any_store, [clean.run_id]).clean


def test_export_then_import_into_a_fresh_store_is_byte_equal(any_store: Store, tmp_path: Path) -> None:
    source = FolderStore(tmp_path / "source")
    runs = [_run(source), _run(source, None)]
    archive = tmp_path / "runs.zip"
    export_runs(source, [r.run_id for r in runs], archive)

    assert import_archive(any_store, archive) == sorted(r.run_id for r in runs)
    for rec in runs:
        assert _contents(any_store, rec.run_id) == _contents(source, rec.run_id)
    assert check_store(any_store).clean
    with pytest.raises(RunExistsError):
        import_archive(any_store, archive)

    # ...and out again: the store's export is the same runs, byte for byte.
    again = tmp_path / "again.tar.gz"
    export_runs(any_store, [r.run_id for r in runs], again)
    target = FolderStore(tmp_path / "target")
    import_archive(target, again)
    for rec in runs:
        assert _contents(target, rec.run_id) == _contents(source, rec.run_id)


def test_a_tampered_archive_leaves_the_store_as_it_was(any_store: Store, tmp_path: Path) -> None:
    source = FolderStore(tmp_path / "source")
    good, bad = _run(source), _run(source)
    archive = tmp_path / "runs.zip"
    export_runs(source, [good.run_id, bad.run_id], archive)
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(archive) as original, zipfile.ZipFile(tampered, "w") as out:
        for info in original.infolist():
            data = original.read(info)
            if info.filename == f"{bad.run_id}/02_output_image.png":
                data = data[:-1] + bytes([data[-1] ^ 1])  # same size, other bytes: only the hash tells
            out.writestr(info, data)
    with pytest.raises(ArchiveRefusedError, match="sha256"):
        import_archive(any_store, tampered)
    assert sorted(any_store.run_ids()) == []
    assert hashlib.sha256(archive.read_bytes()).digest()  # the original stays importable
    assert import_archive(any_store, archive) == sorted([good.run_id, bad.run_id])


def test_gc_removes_ended_runs_and_spares_running_ones_on_any_store(any_store: Store) -> None:
    failed, running, completed = _run(any_store, "failed"), _run(any_store, None), _run(any_store)
    plan = plan_gc(any_store, GcRules(statuses={"failed", "completed"}), now=datetime.now(UTC))
    assert sorted(d.run_id for d in plan.remove) == sorted([failed.run_id, completed.run_id])
    assert plan.spared_running == [running.run_id]
    assert remove_run(any_store, failed.run_id)
    assert not any_store.run_exists(failed.run_id)
    assert sorted(any_store.run_ids()) == sorted([running.run_id, completed.run_id])
    assert any_store.run_index().query()[0][0]["run_id"] in {running.run_id, completed.run_id}
    assert any_store.run_index().skipped() == []


def test_a_live_writers_staged_upload_is_no_leftover_on_any_store(any_store: Store) -> None:
    """A large entity staged for a save of a running run (the folder store's temp file, the shared store's
    ``.staging-*`` object) is in use: verify reports nothing, repair and the store's own sweep keep it."""
    rec = _run(any_store, None)
    data = bytes(range(256)) * (9 * 4096)  # over one part (8 MiB): the shared store uploads it to an object
    staged = any_store.stage_entity(rec.run_id, io.BytesIO(data))
    assert check_store(any_store).findings == []
    assert repair_leftovers(any_store) == [] and any_store.remove_abandoned_uploads() == []
    staged.discard()
