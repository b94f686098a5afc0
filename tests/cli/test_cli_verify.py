"""`verify` and `verify --repair`: each kind of damage is found; what the files allow is fixed; nothing is lost."""

import json
import os
from pathlib import Path

from cli_harness import PNG, cli, files_under, make_run

from pipeline_recorder import RunStore


def entity_files(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in os.listdir(folder)
            if not name.startswith(".") and name != "metadata.json"}


def test_verify_of_a_clean_store_exits_0(tmp_path: Path) -> None:
    make_run(tmp_path)
    make_run(tmp_path, entities=[("input", "x"), ("output_image", PNG)])
    result = cli("verify", "--base-path", str(tmp_path))
    assert result.code == 0, result.text
    assert "checked 2 run(s): all clean" in result.out


def test_verify_finds_corrupt_and_missing_metadata_a_truncated_entity_and_a_temp_file(tmp_path: Path) -> None:
    corrupt, missing, truncated, temp = (make_run(tmp_path) for _ in range(4))
    (corrupt.run_folder / "metadata.json").write_bytes(b'{"run_id": "half a docum')
    (missing.run_folder / "metadata.json").unlink()
    with open(truncated.run_folder / "02_translation.txt", "r+b") as f:
        f.truncate(3)
    (temp.run_folder / ".tmp-0123abcd").write_bytes(b"partial")

    result = cli("verify", "-b", str(tmp_path))

    assert result.code == 1
    lines = result.out.splitlines()
    assert any(corrupt.run_id in line and "not valid JSON" in line and "fixable" in line for line in lines)
    assert any(missing.run_id in line and "metadata.json is missing" in line for line in lines)
    assert any(truncated.run_id in line and "02_translation.txt" in line and "not fixable" in line for line in lines)
    assert any(temp.run_id in line and ".tmp-0123abcd" in line for line in lines)
    assert "4 problem(s), 3 fixable" in result.out
    assert "--repair" in result.out


def test_verify_without_repair_changes_nothing_on_disk(tmp_path: Path) -> None:
    rec = make_run(tmp_path)
    (rec.run_folder / "metadata.json").write_bytes(b"garbage")
    (rec.run_folder / ".tmp-feed").write_bytes(b"x")
    before = {k: v for k, v in files_under(tmp_path).items() if not k.endswith(".lock")}
    assert cli("verify", "-b", str(tmp_path)).code == 1
    after = {k: v for k, v in files_under(tmp_path).items() if not k.endswith(".lock")}
    assert after == before


def test_repair_rebuilds_metadata_removes_temp_files_and_reports_the_truncated_entity(tmp_path: Path) -> None:
    corrupt, missing, truncated, temp = (make_run(tmp_path) for _ in range(4))
    (corrupt.run_folder / "metadata.json").write_bytes(b'{"run_id": "half a docum')
    (missing.run_folder / "metadata.json").unlink()
    with open(truncated.run_folder / "02_translation.txt", "r+b") as f:
        f.truncate(3)
    (temp.run_folder / ".tmp-0123abcd").write_bytes(b"partial")
    entities_before = {rec.run_id: entity_files(rec.run_folder) for rec in (corrupt, missing, truncated, temp)}

    result = cli("verify", "-b", str(tmp_path), "--repair")

    assert result.code == 1, result.text  # the truncated entity cannot be repaired
    assert f"repaired {corrupt.run_id}: kept the broken metadata.json as .metadata.json.corrupt-" in result.out
    assert f"repaired {corrupt.run_id}: rebuilt metadata.json from 3 entity file(s)" in result.out
    assert f"repaired {missing.run_id}: rebuilt metadata.json from 3 entity file(s)" in result.out
    assert f"repaired {temp.run_id}: removed leftover temp file .tmp-0123abcd" in result.out
    assert "1 problem(s), 0 fixable" in result.out
    assert truncated.run_id in result.out and "02_translation.txt" in result.out
    # Never an entity file deleted or changed.
    for rec in (corrupt, missing, truncated, temp):
        assert entity_files(rec.run_folder) == entities_before[rec.run_id]
    assert not (temp.run_folder / ".tmp-0123abcd").exists()
    backups = [n for n in os.listdir(corrupt.run_folder) if n.startswith(".metadata.json.corrupt-")]
    assert [(corrupt.run_folder / n).read_bytes() for n in backups] == [b'{"run_id": "half a docum']
    # The rebuilt runs read through the library again, with their entities' sizes and hashes.
    store = RunStore(tmp_path)
    for rec in (corrupt, missing):
        doc = store.read_metadata(rec.run_id)
        assert [e["filename"] for e in doc["entities"]] == ["01_input.txt", "02_translation.txt", "03_safety.json"]
        assert [e["mime_type"] for e in doc["entities"]] == [
            "text/plain; charset=utf-8", "text/plain; charset=utf-8", "application/json"]
        assert doc["current_state"]["progress"] == "3/3"
    again = cli("verify", "-b", str(tmp_path), "--json")
    report = json.loads(again.out)
    assert again.code == 1
    assert [(f["run_id"], f["code"]) for f in report["findings"]] == [(truncated.run_id, "entity_size")]


def test_repair_keeps_the_settings_a_malformed_but_parseable_metadata_still_holds(tmp_path: Path) -> None:
    rec = make_run(tmp_path, config="haiku", user="ada", status="blocked")
    doc = json.loads((rec.run_folder / "metadata.json").read_bytes())
    del doc["revision"]
    (rec.run_folder / "metadata.json").write_text(json.dumps(doc))
    result = cli("verify", rec.run_id, "-b", str(tmp_path), "--repair")
    assert result.code == 0, result.text
    rebuilt = RunStore(tmp_path).read_metadata(rec.run_id)
    assert (rebuilt["config_name"], rebuilt["user_id"], rebuilt["status"]) == ("haiku", "ada", "blocked")
    assert [e["sha256"] for e in rebuilt["entities"]] == [e["sha256"] for e in doc["entities"]]
    assert rebuilt["entities"][0]["timestamp"] == doc["entities"][0]["timestamp"]


def test_repair_recovers_a_binary_entitys_mime_type_from_its_content(tmp_path: Path) -> None:
    rec = make_run(tmp_path, entities=[("input", "x"), ("output_image", PNG)])
    (rec.run_folder / "metadata.json").unlink()
    assert cli("verify", "-b", str(tmp_path), "--repair").code == 0
    doc = RunStore(tmp_path).read_metadata(rec.run_id)
    assert doc["entities"][1]["mime_type"] == "image/png"
    assert doc["entities"][1]["size"] == len(PNG)
    assert doc["status"] == "interrupted"  # the original status was lost with the file


def test_an_unlisted_entity_file_is_reported_then_set_aside_by_repair_with_its_bytes_kept(tmp_path: Path) -> None:
    rec = make_run(tmp_path)
    (rec.run_folder / "04_interception.txt").write_text("orphan")
    found = cli("verify", "-b", str(tmp_path))
    assert found.code == 1
    assert "04_interception.txt is not listed" in found.out and ".unacknowledged-04_interception.txt" in found.out
    assert (rec.run_folder / "04_interception.txt").read_text() == "orphan"  # verify alone changes nothing
    repaired = cli("verify", "-b", str(tmp_path), "--repair")
    assert repaired.code == 0, repaired.text
    assert not (rec.run_folder / "04_interception.txt").exists()
    assert (rec.run_folder / ".unacknowledged-04_interception.txt").read_text() == "orphan"
    assert [e["filename"] for e in RunStore(tmp_path).read_metadata(rec.run_id)["entities"]] == [
        e["filename"] for e in rec.get_status()["entities"]]
    assert cli("verify", "-b", str(tmp_path)).code == 0


def test_temp_files_of_a_live_writer_are_neither_reported_nor_removed(tmp_path: Path) -> None:
    live = make_run(tmp_path, status=None)  # running, owned by this (live) test process
    (live.run_folder / ".tmp-inflight").write_bytes(b"being written")
    result = cli("verify", "-b", str(tmp_path), "--repair")
    assert result.code == 0, result.text
    assert (live.run_folder / ".tmp-inflight").exists()
    assert "belong to the live writer" in result.out


def test_verify_of_an_unknown_run_exits_3(tmp_path: Path) -> None:
    make_run(tmp_path)
    result = cli("verify", "nope", "-b", str(tmp_path))
    assert result.code == 3
    assert "nope" in result.err


def test_verify_finds_a_half_deleted_gc_folder_and_repair_finishes_it(tmp_path: Path) -> None:
    rec = make_run(tmp_path)
    trash = rec.run_folder.parent / f".trash-{rec.run_id}-0000"
    os.rename(rec.run_folder, trash)
    (trash / "01_input.txt").unlink()  # gc stopped halfway through deleting
    result = cli("verify", "-b", str(tmp_path))
    assert result.code == 1
    assert "store:" in result.out and trash.name in result.out
    repaired = cli("verify", "-b", str(tmp_path), "--repair")
    assert repaired.code == 0, repaired.text
    assert not trash.exists()
