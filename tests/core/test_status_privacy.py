"""The /status document (http/documents.py) never tells who writes a run -- no pids, host names or boot ids --
while its ETag still names the stored version: the same bytes give the same tag, a change a new one."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline_recorder import LivePipelineRecorder, new_run_id
from pipeline_recorder.http.documents import Documents, status_body
from pipeline_recorder.liveness import current_owner
from pipeline_recorder.stores import FolderStore

WRITER_FACTS = ("pid", "boot_id", "start_ticks")


def served(documents: Documents, run_id: str, since: int | None = None) -> tuple[dict[str, object], bytes, str]:
    body, etag = status_body(documents.snapshot(run_id), since)
    return json.loads(body), body, etag


def test_status_leaves_out_the_writers_and_keeps_every_other_byte(tmp_path: Path) -> None:
    store = FolderStore(tmp_path)
    rec = LivePipelineRecorder(new_run_id(), "c", "eco", "kids", base_path=store)
    rec.save_entity("input", "hello", {"note": "kept"})
    stored = json.loads((rec.run_folder / "metadata.json").read_bytes())
    doc, body, _ = served(Documents(store), rec.run_id)
    assert doc == {key: value for key, value in stored.items() if key not in ("owner", "writers")}
    owner = current_owner()
    for fact in (str(owner["pid"]), owner["host"], owner["boot_id"], *WRITER_FACTS):
        assert fact.encode() not in body, fact


def test_status_of_a_changed_or_filtered_document_leaves_out_the_writers_too(tmp_path: Path) -> None:
    store = FolderStore(tmp_path)
    rec = LivePipelineRecorder(new_run_id(), "c", "eco", "kids", base_path=store)
    rec.save_entity("input", "one")
    documents = Documents(store)
    first = served(documents, rec.run_id)[2]
    assert served(documents, rec.run_id)[2] == first  # unchanged: the same tag (a 304 for the client)
    rec.save_entity("translation", "two")
    doc, _, second = served(documents, rec.run_id)
    assert second != first and "owner" not in doc and "writers" not in doc
    since, _, tag = served(documents, rec.run_id, since=2)
    assert "owner" not in since and "writers" not in since and tag != second
    assert [e["type"] for e in since["entities"]] == ["translation"]  # type: ignore[index]
    assert Documents(store).snapshot(rec.run_id).digest == documents.snapshot(rec.run_id).digest
