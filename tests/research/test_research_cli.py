"""`export` with a selection, as a user runs it: the files it writes, its exit codes and its messages."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from cli_harness import cli
from research_runs import CHILD_A, CHILD_B, DEVICE_A, csv_rows, record

from pipeline_recorder.stores.folder import FolderStore


def _store(tmp_path: Path) -> tuple[Path, list[str]]:
    store = FolderStore(tmp_path)
    ids = [record(store, CHILD_A, "Ein Hund", session_id="class-4b", device_id=DEVICE_A).run_id,
           record(store, CHILD_B, "Eine Katze", session_id="class-4b").run_id,
           record(store, CHILD_B, "Ein Baum", session_id="class-5a").run_id]
    store.close()
    return tmp_path, ids


def test_export_of_a_session_writes_an_archive_that_import_reads_back(tmp_path: Path) -> None:
    base, ids = _store(tmp_path / "store")
    out = tmp_path / "class-4b.zip"
    done = cli("export", "--session", "class-4b", "-o", str(out), "-b", str(base))
    assert done.code == 0, done.text
    assert f"exported 2 run(s) as an archive to {out}" in done.out
    with zipfile.ZipFile(out) as archive:
        assert json.loads(archive.read("manifest.json"))["runs"] == ids[:2]
    imported = cli("import", str(out), "-b", str(tmp_path / "elsewhere"))
    assert imported.code == 0 and "imported 2 run(s)" in imported.out, imported.text


def test_export_table_pseudonymised_without_text(tmp_path: Path) -> None:
    base, ids = _store(tmp_path / "store")
    out = tmp_path / "b.csv"
    done = cli("export", "--user", CHILD_B, "--table", "csv", "--pseudonymise", "--no-text", "-o", str(out),
               "-b", str(base))
    assert done.code == 0, done.text
    data = out.read_bytes()
    assert CHILD_B.encode() not in data and b"Katze" not in data and b"Baum" not in data
    rows = csv_rows(data)
    assert {row["run_id"] for row in rows} == set(ids[1:]) and len({row["user_id"] for row in rows}) == 1


def test_a_pseudonym_key_from_the_environment_gives_the_same_pseudonyms_twice(tmp_path: Path) -> None:
    base, _ = _store(tmp_path / "store")
    env = {"PIPELINE_RECORDER_PSEUDONYM_KEY": "study-2026-key"}
    users = []
    for name in ("one.csv", "two.csv"):
        done = cli("export", "--session", "class-4b", "--table", "csv", "-o", str(tmp_path / name), "-b",
                   str(base), env=env)
        assert done.code == 0, done.text
        users.append([row["user_id"] for row in csv_rows((tmp_path / name).read_bytes())])
    assert users[0] == users[1] and CHILD_A not in users[0]


def test_export_refusals_say_what_is_wrong(tmp_path: Path) -> None:
    base, ids = _store(tmp_path / "store")
    out = str(tmp_path / "x.zip")
    cases = [
        (("--session", "class-9z"), 3, "no run matches session_id class-9z"),
        ((), 2, "name the runs to export, or select them"),
        ((ids[0], "--session", "class-4b"), 2, "not both"),
        (("--session", "class-4b", "--table", "xlsx"), 2, "csv or parquet"),
        (("--session", "class-4b", "--pseudonym-key", "short"), 2, "at least 8 characters"),
        (("--session", "class-4b", "--since", "someday"), 2, "invalid time"),
    ]
    for args, code, message in cases:
        done = cli("export", *args, "-o", out, "-b", str(base))
        assert done.code == code, (args, done.text)
        assert message in done.err, (args, done.err)
    assert not Path(out).exists()
    named = cli("export", "--session", "class-4b", "-o", str(tmp_path / "x.rar"), "-b", str(base))
    assert named.code == 2 and "*.zip or *.tar.gz" in named.err
