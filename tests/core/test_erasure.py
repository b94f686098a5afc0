"""Erasure of one user, once per store: afterwards no byte of that user's id or texts is left anywhere in the store
(every file or object, every database row), the other user's runs are exactly as they were, and the erasure log
says what was done without saying who."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import obstore
import psycopg

from pipeline_recorder import LivePipelineRecorder, new_run_id
from pipeline_recorder.ops import erase, trash
from pipeline_recorder.remote.spool import CREATE_PATH, RunSpool
from pipeline_recorder.remote.transport import Operation
from pipeline_recorder.stores import FolderStore, Store
from pipeline_recorder.stores.shared import SharedStore

ERASED, KEPT = "kind-Zoe-7431", "kind-Max-1288"
ERASED_TEXT, KEPT_TEXT = "Zoe malt einen violetten Drachen", "Max baut eine gelbe Burg"
# The id, the text, and the words of it a full-text index would keep (lowercased).
NEEDLES = [ERASED.encode(), ERASED_TEXT.encode(), b"violetten", b"drachen", b"zoe malt"]


def recorded(store: Store, user: str, text: str) -> str:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", user_id=user, base_path=store)
    rec.save_entity("input", text)
    rec.save_entity("interception", f"{text}, im Mondlicht")
    rec.save_entity("output_image", b"\x89PNG\r\n\x1a\n" + text.encode() * 50)
    rec.mark_complete()
    folder = store.local_folder(rec.run_id)
    if folder is not None:  # a helper file beside the entities, as the viewer's thumbnails are
        (folder / ".thumbnails").mkdir()
        (folder / ".thumbnails" / "03_output_image.webp").write_bytes(b"RIFF" + text.encode())
    return rec.run_id


def spooled(root: Path, user: str, text: str) -> Path:
    """A run a remote recorder spooled and never sent: its creation names the user."""
    spool = RunSpool(root, new_run_id())
    spool.append("http://127.0.0.1:9", Operation("POST", CREATE_PATH, json={
        "run_id": spool.run_id, "config_name": "stillepost", "execution_mode": "eco", "safety_level": "kids",
        "user_id": user}))
    spool.append("http://127.0.0.1:9", Operation("POST", f"/api/pipeline/{spool.run_id}/entity/input",
                                                 content=text.encode()))
    return spool.folder


def everything(store: Store, tmp_path: Path) -> Iterator[tuple[str, bytes]]:
    """(where, bytes) of every file under the test's folder, and for the shared store of every object in its
    bucket and every row of every table in its database."""
    for folder, _, files in os.walk(tmp_path):
        for name in files:
            path = Path(folder, name)
            if not path.is_symlink():
                yield str(path), path.read_bytes()
    if isinstance(store, SharedStore):
        for page in obstore.list(store.bucket._store):
            for meta in page:
                yield f"s3:{meta['path']}", store.bucket.get(str(meta["path"]))
        with psycopg.connect(store.config.database_url) as conn:
            tables = [name for (name,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
            for table in tables:
                for row in conn.execute(f'SELECT * FROM "{table}"'):
                    for value in row:
                        data = bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
                        yield f"db:{table}", data


def test_erasing_a_user_leaves_no_byte_of_them_and_the_other_user_intact(any_store: Store, tmp_path: Path) -> None:
    erased = [recorded(any_store, ERASED, ERASED_TEXT) for _ in range(2)]
    in_trash = recorded(any_store, ERASED, ERASED_TEXT)
    trash.delete_run(any_store, in_trash)
    kept = [recorded(any_store, KEPT, KEPT_TEXT) for _ in range(2)]
    trash.delete_run(any_store, kept[1])  # the other user's trash is theirs to keep
    assert len(any_store.run_index().query(limit=50)[0]) == 3  # the index holds rows of both users
    spool_root = tmp_path / "spool"
    spooled(spool_root, ERASED, ERASED_TEXT)
    kept_spool = spooled(spool_root, KEPT, KEPT_TEXT)
    before = {run_id: any_store.read_document_bytes(run_id) for run_id in kept[:1]}
    kept_files = {str(p): p.read_bytes() for p in kept_spool.iterdir()}

    plan = erase.plan_erasure(any_store, "user_id", ERASED, spool_root)
    assert (sorted(plan.runs), plan.trashed, len(plan.spooled)) == (sorted(erased), [in_trash], 1)
    assert all(any_store.run_exists(run_id) for run_id in erased)  # planning erased nothing
    result = erase.erase(any_store, plan)
    assert (result.runs, result.trashed, result.spooled, result.left_running) == (2, 1, 1, [])

    found = [(where, needle) for where, data in everything(any_store, tmp_path) for needle in NEEDLES
             if needle in data or needle in data.lower()]
    assert found == []
    assert {run_id: any_store.read_document_bytes(run_id) for run_id in kept[:1]} == before
    assert [t.run_id for t in any_store.trashed_runs()] == [kept[1]]
    assert {str(p): p.read_bytes() for p in kept_spool.iterdir()} == kept_files
    assert [s["run_id"] for s in any_store.run_index().query(limit=50)[0]] == kept[:1]

    [entry] = any_store.erasures()
    assert (entry["selector"], entry["runs"], entry["trashed_runs"], entry["spooled_runs"]) == ("user_id", 2, 1, 1)
    assert entry["bytes"] > 3 * len(ERASED_TEXT) * 50
    assert erase.selector_matches(entry["selector_hash"], ERASED)
    assert not erase.selector_matches(entry["selector_hash"], KEPT)


def test_a_running_run_of_the_user_is_left_and_reported(any_store: Store) -> None:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", user_id=ERASED, base_path=any_store)
    rec.save_entity("input", ERASED_TEXT)
    done = recorded(any_store, ERASED, ERASED_TEXT)
    result = erase.erase(any_store, erase.plan_erasure(any_store, "user_id", ERASED))
    assert (result.runs, result.left_running) == (1, [rec.run_id])
    assert any_store.run_exists(rec.run_id) and not any_store.run_exists(done)
    assert any_store.erasures()[0]["left_running"] == 1


def test_erasing_by_device_erases_only_that_devices_runs(any_store: Store) -> None:
    on_device = recorded(any_store, KEPT, KEPT_TEXT)
    other = recorded(any_store, KEPT, KEPT_TEXT)
    with any_store.writer(on_device).transaction() as txn:  # the device as the recorder records it
        assert txn.document is not None
        txn.document.header["device_id"] = "tablet-3"
        txn.document.header["revision"] += 1
        txn.replace_document()
    result = erase.erase(any_store, erase.plan_erasure(any_store, "device_id", "tablet-3"))
    assert result.runs == 1
    assert not any_store.run_exists(on_device) and any_store.run_exists(other)


def test_the_folder_stores_erasure_log_is_one_json_line_per_erasure(tmp_path: Path) -> None:
    store = FolderStore(tmp_path)
    for user in (ERASED, KEPT):
        erase.erase(store, erase.plan_erasure(store, "user_id", user))
    log = (tmp_path / "pipeline_runs" / ".erasures.jsonl").read_bytes()
    assert len(log.splitlines()) == 2 and ERASED.encode() not in log and KEPT.encode() not in log
    assert [erase.selector_matches(e["selector_hash"], u) for e, u in zip(store.erasures(), (ERASED, KEPT),
                                                                         strict=True)] == [True, True]
