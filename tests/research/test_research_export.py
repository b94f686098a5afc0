"""Research exports on every store: which runs a selection holds, the archive and its manifest, the table as the
csv module and pyarrow read it, checked against the bytes the store holds."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from research_runs import CHILD_A, CHILD_B, DEVICE_A, DEVICE_B, csv_rows, new_run, record, stored_bytes, zip_members

from pipeline_recorder import __version__
from pipeline_recorder.errors import RunNotFoundError, ValidationError
from pipeline_recorder.ops.importing import import_archive
from pipeline_recorder.ops.research_columns import NAMES, SCHEMA_VERSION
from pipeline_recorder.ops.research_export import ARCHIVE, iter_export, plan_export, write_export
from pipeline_recorder.ops.research_privacy import Privacy
from pipeline_recorder.ops.research_select import Selection
from pipeline_recorder.stores.base import Store
from pipeline_recorder.stores.folder import FolderStore


def _export(store: Store, fmt: str, privacy: Privacy | None = None, **selection: str) -> bytes:
    plan = plan_export(store, Selection.parse(**selection), privacy or Privacy())
    return b"".join(iter_export(plan, fmt))


def _class_session(store: Store) -> dict[str, str]:
    """Two children on two tablets in session class-4b, one of them again in another session, one canvas run."""
    ids = {
        "anna": record(store, CHILD_A, "Ein Hund im Garten", session_id="class-4b", device_id=DEVICE_A).run_id,
        "ben": record(store, CHILD_B, "Eine Katze auf dem Dach", session_id="class-4b", device_id=DEVICE_B).run_id,
        "anna_later": record(store, CHILD_A, "Ein Drache", session_id="class-5a", device_id=DEVICE_A).run_id,
        "canvas": record(store, CHILD_B, "Ein Baum", session_id="class-4b", device_id=DEVICE_B,
                         kind="canvas_workflow").run_id,
    }
    return ids


def _runs_of(archive: bytes) -> list[str]:
    return json.loads(zip_members(archive)["manifest.json"])["runs"]


def test_a_selection_holds_exactly_the_runs_that_match_every_filter_oldest_first(any_store: Store) -> None:
    ids = _class_session(any_store)
    assert _runs_of(_export(any_store, ARCHIVE, session_id="class-4b")) == [ids["anna"], ids["ben"], ids["canvas"]]
    assert _runs_of(_export(any_store, ARCHIVE, user_id=CHILD_A)) == [ids["anna"], ids["anna_later"]]
    assert _runs_of(_export(any_store, ARCHIVE, device_id=DEVICE_B, kind="pipeline")) == [ids["ben"]]
    assert _runs_of(_export(any_store, ARCHIVE, kind="canvas_workflow")) == [ids["canvas"]]
    assert _runs_of(_export(any_store, ARCHIVE, session_id="class-4b", user_id=CHILD_A)) == [ids["anna"]]


def test_a_time_span_holds_the_runs_started_in_it(any_store: Store) -> None:
    first = record(any_store, CHILD_A, "vorher").run_id
    middle = datetime.now(UTC).isoformat()
    second = record(any_store, CHILD_A, "nachher").run_id
    assert _runs_of(_export(any_store, ARCHIVE, since=middle)) == [second]
    assert _runs_of(_export(any_store, ARCHIVE, until=middle)) == [first]
    assert _runs_of(_export(any_store, ARCHIVE, since="1d", user_id=CHILD_A)) == [first, second]


def test_a_selection_that_matches_no_run_says_which_filters_were_given(any_store: Store) -> None:
    _class_session(any_store)
    with pytest.raises(RunNotFoundError, match="session_id class-9z, kind pipeline"):
        plan_export(any_store, Selection.parse(session_id="class-9z", kind="pipeline"), Privacy())
    with pytest.raises(ValidationError, match="invalid time"):
        Selection.parse(since="yesterday")


def test_the_manifest_lists_every_member_with_its_real_sha256_and_the_versions(any_store: Store) -> None:
    ids = _class_session(any_store)
    members = zip_members(_export(any_store, ARCHIVE, session_id="class-4b"))
    manifest = json.loads(members.pop("manifest.json"))
    assert manifest["tool_version"] == __version__
    assert manifest["column_schema_version"] == SCHEMA_VERSION
    assert manifest["selection"] == {"session_id": "class-4b"}
    listed = {entry["path"]: (entry["size"], entry["sha256"]) for entry in manifest["files"]}
    assert listed == {name: (len(data), hashlib.sha256(data).hexdigest()) for name, data in members.items()}
    # Each entity is the one the store holds, byte for byte.
    doc = any_store.read_metadata(ids["ben"])
    for entity in doc["entities"]:
        assert members[f"{ids['ben']}/{entity['filename']}"] == stored_bytes(any_store, ids["ben"], entity)


def test_an_archive_of_a_session_imports_into_a_folder_store(any_store: Store, tmp_path: Path) -> None:
    ids = _class_session(any_store)
    archive = tmp_path / "class-4b.tar.gz"
    write_export(plan_export(any_store, Selection.parse(session_id="class-4b"), Privacy()), ARCHIVE, archive)
    target = FolderStore(tmp_path / "target")
    assert sorted(import_archive(target, archive)) == sorted([ids["anna"], ids["ben"], ids["canvas"]])
    imported = target.read_metadata(ids["anna"])
    assert (imported["session_id"], imported["device_id"], imported["user_id"]) == ("class-4b", DEVICE_A, CHILD_A)
    assert "owner" not in imported and "writers" not in imported  # who wrote it (host, pid) never leaves


def test_csv_rows_hold_what_the_store_holds(any_store: Store) -> None:
    ids = _class_session(any_store)
    rows = csv_rows(_export(any_store, "csv", session_id="class-4b"))
    assert list(rows[0]) == list(NAMES)
    assert [row["run_id"] for row in rows] == [ids["anna"]] * 4 + [ids["ben"]] * 4 + [ids["canvas"]] * 4
    for row in rows:
        doc = any_store.read_metadata(row["run_id"])
        entity = next(e for e in doc["entities"] if e["filename"] == row["filename"])
        data = stored_bytes(any_store, row["run_id"], entity)
        assert (int(row["size"]), row["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
        assert row["text"] == ("" if row["entity_type"] == "output_image" else data.decode())
        assert (row["session_id"], row["user_id"], row["record"]) == ("class-4b", doc["user_id"], "entity")
        assert datetime.fromisoformat(row["timestamp"]) == datetime.fromisoformat(entity["timestamp"])
    interception = next(row for row in rows if row["entity_type"] == "interception")
    assert (interception["stage"], interception["stage_name"]) == ("2", "interception")
    assert json.loads(interception["entity_metadata"]) == {"model_used": "gpt-oss:20b"}
    assert {row["kind"] for row in rows} == {"pipeline", "canvas_workflow"}


def test_the_model_column_comes_from_models_used(any_store: Store) -> None:
    rec = new_run(any_store, CHILD_A, ["input"], session_id="s1",
                  models_used={"stage2_interception": "ollama/gpt-oss:20b", "stage4_output": "comfyui/sd35_large"})
    rec.save_entity("input", "x")
    rec.save_entity("interception", "y")
    rec.save_entity("output_image", b"\x89PNG\r\n\x1a\n" + bytes(16))
    rec.mark_complete()
    models = {row["entity_type"]: row["model"] for row in csv_rows(_export(any_store, "csv", session_id="s1"))}
    assert models == {"input": "", "interception": "ollama/gpt-oss:20b", "output_image": "comfyui/sd35_large"}


def test_parquet_holds_the_same_table_with_its_types(any_store: Store) -> None:
    _class_session(any_store)
    table = pq.read_table(io.BytesIO(_export(any_store, "parquet", session_id="class-4b")))
    assert table.schema.names == list(NAMES)
    assert table.schema.metadata[b"pipeline_recorder.schema_version"] == str(SCHEMA_VERSION).encode()
    assert str(table.schema.field("timestamp").type) == "timestamp[us, tz=UTC]"
    assert str(table.schema.field("size").type) == "int64"
    from_csv = csv_rows(_export(any_store, "csv", session_id="class-4b"))
    for row, expected in zip(table.to_pylist(), from_csv, strict=True):
        assert row["timestamp"] == datetime.fromisoformat(expected["timestamp"])
        assert row["size"] == int(expected["size"]) and row["sha256"] == expected["sha256"]
        assert (row["text"] or "") == expected["text"]
        assert row["text_truncated"] is False


def _all_text(data: bytes, fmt: str) -> str:
    """Everything an export holds, decompressed: every zip member, or every cell of the table."""
    if fmt == ARCHIVE:
        return "\n".join(member.decode("utf-8", "replace") for member in zip_members(data).values())
    if fmt == "parquet":
        return json.dumps(pq.read_table(io.BytesIO(data)).to_pylist(), default=str, ensure_ascii=False)
    return data.decode()


@pytest.mark.parametrize("fmt", [ARCHIVE, "csv", "parquet"])
def test_a_pseudonymised_export_holds_no_user_or_device_id(any_store: Store, fmt: str) -> None:
    _class_session(any_store)
    data = _export(any_store, fmt, Privacy(pseudonymise=True), session_id="class-4b")
    for secret in (CHILD_A, CHILD_B, DEVICE_A, DEVICE_B):
        assert secret.encode() not in data
        assert secret not in _all_text(data, fmt)
    assert "user-" in _all_text(data, fmt) and "device-" in _all_text(data, fmt)


def test_pseudonyms_hold_within_one_export_and_differ_between_exports(any_store: Store) -> None:
    _class_session(any_store)

    def users(privacy: Privacy) -> list[str]:
        return [row["user_id"] for row in csv_rows(_export(any_store, "csv", privacy, session_id="class-4b"))
                if row["entity_type"] == "input"]

    first, second = users(Privacy(pseudonymise=True)), users(Privacy(pseudonymise=True))
    assert first[0] != first[1] and first[1] == first[2]  # anna, ben, ben (canvas): one pseudonym per child
    assert not set(first) & set(second)  # two exports cannot be linked
    keyed = users(Privacy(pseudonymise=True, key="class-4b-study-key"))
    assert keyed == users(Privacy(pseudonymise=True, key="class-4b-study-key")) and not set(keyed) & set(first)


def test_a_pseudonym_key_must_be_long_enough_and_comes_with_pseudonyms() -> None:
    with pytest.raises(ValidationError, match="at least 8 characters"):
        Privacy(pseudonymise=True, key="short")
    with pytest.raises(ValidationError, match="only makes sense with --pseudonymise"):
        Privacy(key="long enough key")


@pytest.mark.parametrize("fmt", [ARCHIVE, "csv", "parquet"])
def test_no_text_leaves_the_childrens_words_out(any_store: Store, fmt: str) -> None:
    ids = _class_session(any_store)
    data = _export(any_store, fmt, Privacy(no_text=True), session_id="class-4b")
    text = _all_text(data, fmt)
    for words in ("Ein Hund im Garten", "Eine Katze auf dem Dach", "A poem about"):
        assert words not in text
    if fmt == ARCHIVE:
        members = zip_members(data)
        assert f"{ids['anna']}/04_output_image.png" in members  # the media stays
        assert not any(name.endswith(".txt") for name in members)
    else:
        rows = csv_rows(data) if fmt == "csv" else pq.read_table(io.BytesIO(data)).to_pylist()
        assert {row["entity_type"] for row in rows} == {"input", "safety", "interception", "output_image"}
        assert all(not row["sha256"] for row in rows if row["entity_type"] != "output_image")


def test_a_no_text_archive_still_imports(any_store: Store, tmp_path: Path) -> None:
    ids = _class_session(any_store)
    archive = tmp_path / "words-left-out.zip"
    write_export(plan_export(any_store, Selection.parse(user_id=CHILD_A), Privacy(no_text=True, pseudonymise=True)),
                 ARCHIVE, archive)
    target = FolderStore(tmp_path / "target")
    assert sorted(import_archive(target, archive)) == sorted([ids["anna"], ids["anna_later"]])
    doc = target.read_metadata(ids["anna"])
    assert [e["type"] for e in doc["entities"]] == ["output_image"] and doc["user_id"].startswith("user-")


def test_a_table_is_written_atomically_and_never_over_a_file_without_overwrite(any_store: Store,
                                                                               tmp_path: Path) -> None:
    _class_session(any_store)
    plan = plan_export(any_store, Selection.parse(session_id="class-4b"), Privacy())
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "table.csv"
    out.write_text("keep me")
    with pytest.raises(FileExistsError):
        write_export(plan, "csv", out)
    assert out.read_text() == "keep me"
    size = write_export(plan, "csv", out, overwrite=True)
    assert size == out.stat().st_size and len(csv_rows(out.read_bytes())) == 12
    assert [p.name for p in out.parent.iterdir()] == ["table.csv"]  # no temp file left beside it


def _with_process(store: Store) -> str:
    from pipeline_recorder import LivePipelineRecorder, new_run_id

    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", CHILD_A, base_path=store,
                               session_id="edits")
    rec.save_process_step("input", "Ein Hund")
    rec.save_process_step("parameters", {"seed": 7})
    rec.save_process_step("input", "Ein Hund im Garten")
    rec.save_entity("input", "Ein Hund im Garten")
    rec.mark_complete()
    return rec.run_id


def test_the_prompting_process_gets_a_row_per_step_and_its_files_in_the_archive(any_store: Store,
                                                                                tmp_path: Path) -> None:
    run_id = _with_process(any_store)
    rows = csv_rows(_export(any_store, "csv", session_id="edits"))
    assert [(row["record"], row["sequence"], row["entity_type"]) for row in rows] == [
        ("entity", "1", "input"), ("prompting_process", "1", "input"), ("prompting_process", "2", "parameters"),
        ("prompting_process", "3", "input")]
    assert [rows[1]["text"], json.loads(rows[2]["text"]), rows[3]["text"]] == [
        "Ein Hund", {"seed": 7}, "Ein Hund im Garten"]
    doc = any_store.read_metadata(run_id)
    for row, step in zip(rows[1:], doc["prompting_process"], strict=True):
        data = stored_bytes(any_store, run_id, step)
        assert (row["filename"], row["sha256"]) == (step["filename"], hashlib.sha256(data).hexdigest())
    members = zip_members(_export(any_store, ARCHIVE, session_id="edits"))
    assert members[f"{run_id}/prompting_process/002_parameters.json"] == stored_bytes(
        any_store, run_id, doc["prompting_process"][1])
    archive = tmp_path / "edits.zip"
    write_export(plan_export(any_store, Selection.parse(session_id="edits"), Privacy()), ARCHIVE, archive)
    target = FolderStore(tmp_path / "target")
    assert import_archive(target, archive) == [run_id]
    assert len(target.read_metadata(run_id)["prompting_process"]) == 3


def test_no_text_leaves_the_text_steps_of_the_prompting_process_out(any_store: Store) -> None:
    run_id = _with_process(any_store)
    members = zip_members(_export(any_store, ARCHIVE, Privacy(no_text=True), session_id="edits"))
    assert not any("prompting_process/" in name for name in members)
    doc = json.loads(members[f"{run_id}/metadata.json"])
    assert doc["prompting_process"] == [] and doc["entities"] == []
