"""Hostile archives and hostile runs already in the store: `import` refuses metadata.json that holds strings which
are not valid Unicode or that is nested too deeply, before anything is written (exit 4, one clear line, no
traceback); `ls` lists the other runs when one in the store holds such a string; `show` and `export` never follow
a symlinked run folder out of the store."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest
from cli_harness import build_zip, cli, genuine_members, make_run


def metadata_name(members: dict[str, bytes]) -> str:
    return next(name for name in members if name.endswith("/metadata.json"))


def assert_refused_cleanly(result_code: int, err: str, store: Path) -> None:
    assert result_code == 4, err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert "nothing was imported" in err
    assert not (store / "pipeline_runs").exists() or list((store / "pipeline_runs").iterdir()) == []


@pytest.mark.parametrize("where", ["user_id", "entity metadata", "key"])
def test_import_refuses_a_metadata_json_with_a_lone_surrogate_and_writes_nothing(tmp_path: Path, where: str) -> None:
    members = genuine_members(tmp_path)
    name = metadata_name(members)
    doc = members[name].decode()
    if where == "user_id":
        doc = doc.replace('"anonymous"', '"\\ud800"', 1)
    elif where == "entity metadata":
        doc = doc.replace('"metadata": {}', '"metadata": {"note": "a\\udfffb"}', 1)
    else:
        doc = doc.replace('"metadata": {}', '"metadata": {"\\ud83d": 1}', 1)
    assert doc != members[name].decode()
    members[name] = doc.encode()
    archive = tmp_path / "surrogate.zip"
    build_zip(archive, members)
    store = tmp_path / "store"
    result = cli("import", str(archive), "-b", str(store))
    assert_refused_cleanly(result.code, result.err, store)
    assert "not valid Unicode" in result.err


def test_import_keeps_a_valid_surrogate_pair_escape(tmp_path: Path) -> None:
    members = genuine_members(tmp_path)
    name = metadata_name(members)
    members[name] = members[name].replace(b'"anonymous"', b'"\\ud83d\\ude00"', 1)
    archive = tmp_path / "emoji.zip"
    build_zip(archive, members)
    result = cli("import", str(archive), "-b", str(tmp_path / "store"))
    assert result.code == 0, result.text
    run_id = name.split("/")[0]
    assert json.loads(cli("show", run_id, "--json", "-b", str(tmp_path / "store")).out)["user_id"] == "\U0001f600"


@pytest.mark.parametrize("document", ["metadata.json", "manifest.json"])
def test_import_of_deeply_nested_json_exits_4_with_a_clear_message(tmp_path: Path, document: str) -> None:
    members = genuine_members(tmp_path)
    deep = b"[" * 200_000 + b"]" * 200_000
    archive = tmp_path / "deep.zip"
    if document == "metadata.json":
        members[metadata_name(members)] = deep
        build_zip(archive, members)
    else:
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr("manifest.json", deep)
            for name, data in members.items():
                zf.writestr(name, data)
    store = tmp_path / "store"
    result = cli("import", str(archive), "-b", str(store))
    assert_refused_cleanly(result.code, result.err, store)
    assert "nested too deeply" in result.err and document in result.err


def test_import_refuses_a_member_whose_declared_size_is_not_the_manifests(tmp_path: Path) -> None:
    members = genuine_members(tmp_path)
    name = next(n for n in members if n.endswith("_input.txt"))
    files = [{"path": n, "size": len(d) + (7 if n == name else 0), "sha256": hashlib.sha256(d).hexdigest()}
             for n, d in members.items()]
    archive = tmp_path / "sizes.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("manifest.json", json.dumps({"format": "pipeline-recorder-export", "version": 1, "runs": [],
                                                 "files": files}))
        for n, d in members.items():
            zf.writestr(n, d)
    store = tmp_path / "store"
    result = cli("import", str(archive), "-b", str(store))
    assert_refused_cleanly(result.code, result.err, store)
    assert name in result.err and "declares" in result.err


def write_surrogate_run(base: Path) -> str:
    """A run in the store whose metadata.json holds the valid JSON escape of a lone surrogate (as a hostile import
    or a hand edit leaves it)."""
    rec = make_run(base, user="poisoned")
    path = rec.run_folder / "metadata.json"
    path.write_bytes(path.read_bytes().replace(b'"poisoned"', b'"\\ud800"'))
    return rec.run_id


def test_ls_lists_the_other_runs_and_reports_one_holding_a_lone_surrogate(tmp_path: Path) -> None:
    good = [make_run(tmp_path).run_id for _ in range(3)]
    bad = write_surrogate_run(tmp_path)
    for args in ([], ["--json"]):
        result = cli("ls", *args, "-b", str(tmp_path))
        assert result.code == 0, result.text
        assert "Traceback" not in result.err
        for run_id in good:
            assert run_id in result.out
        assert bad not in result.out
        assert f"run {bad} is not listed" in result.err and f"verify {bad}" in result.err
    shown = cli("show", bad, "-b", str(tmp_path))
    assert shown.code == 1 and "not valid Unicode" in shown.err and "Traceback" not in shown.err
    verified = cli("verify", bad, "-b", str(tmp_path))
    assert verified.code == 1 and "Traceback" not in verified.err


@pytest.mark.parametrize("command", ["show", "export"])
def test_show_and_export_refuse_a_symlinked_run_folder(tmp_path: Path, command: str) -> None:
    outside = tmp_path / "outside"
    rec = make_run(outside, entities=[("input", "a secret from outside the store")])
    store = tmp_path / "store"
    (store / "pipeline_runs").mkdir(parents=True)
    (store / "pipeline_runs" / rec.run_id).symlink_to(rec.run_folder, target_is_directory=True)
    archive = tmp_path / "leak.zip"
    args = ["-o", str(archive)] if command == "export" else ["--json"]
    result = cli(command, rec.run_id, *args, "-b", str(store))
    assert result.code == 3, result.text
    assert "not found" in result.err
    assert "secret" not in result.out and not archive.exists()
