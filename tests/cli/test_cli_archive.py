"""`export` and `import`: round trips, and refusals that write nothing."""

import hashlib
import io
import json
import os
import tarfile
import zipfile
from pathlib import Path

import pytest
from cli_harness import PNG, build_zip, cli, files_under, genuine_members, make_run, run_files


@pytest.mark.parametrize("suffix", [".zip", ".tar.gz"])
def test_export_then_import_into_another_store_gives_the_same_runs(tmp_path: Path, suffix: str) -> None:
    source, target = tmp_path / "a", tmp_path / "b"
    one = make_run(source, entities=[("input", "x"), ("output_image", PNG)])
    two = make_run(source, status="blocked")
    archive = tmp_path / f"export{suffix}"
    exported = cli("export", one.run_id, two.run_id, "-o", str(archive), "-b", str(source))
    assert exported.code == 0, exported.text
    assert "exported 2 run(s)" in exported.out
    imported = cli("import", str(archive), "-b", str(target))
    assert imported.code == 0, imported.text
    assert "imported 2 run(s)" in imported.out
    for rec in (one, two):
        assert run_files(target / "pipeline_runs" / rec.run_id) == run_files(rec.run_folder)
    assert cli("verify", "-b", str(target)).code == 0
    shown = json.loads(cli("show", two.run_id, "-b", str(target), "--json").out)
    assert shown["status"] == "blocked"


def test_the_manifest_lists_every_file_with_size_and_sha256(tmp_path: Path) -> None:
    rec = make_run(tmp_path)
    archive = tmp_path / "one.zip"
    assert cli("export", rec.run_id, "-o", str(archive), "-b", str(tmp_path)).code == 0
    with zipfile.ZipFile(archive) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        assert manifest["runs"] == [rec.run_id]
        for entry in manifest["files"]:
            data = zf.read(entry["path"])
            assert (len(data), hashlib.sha256(data).hexdigest()) == (entry["size"], entry["sha256"])
        assert sorted(e["path"] for e in manifest["files"]) == sorted(n for n in zf.namelist() if n != "manifest.json")


def test_importing_a_run_that_exists_is_refused_with_exit_4(tmp_path: Path) -> None:
    rec = make_run(tmp_path)
    archive = tmp_path / "one.zip"
    assert cli("export", rec.run_id, "-o", str(archive), "-b", str(tmp_path)).code == 0
    (rec.run_folder / "02_translation.txt").chmod(0o644)
    before = files_under(tmp_path / "pipeline_runs")
    result = cli("import", str(archive), "-b", str(tmp_path))
    assert result.code == 4
    assert "already exists" in result.err and "nothing was imported" in result.err
    assert files_under(tmp_path / "pipeline_runs") == before


@pytest.mark.parametrize("evil_name", ["../evil.txt", "/etc/evil.txt", "run/../../evil.txt", "run\\..\\evil.txt",
                                       "run/sub/01_input.txt", "notes.txt"])
def test_an_archive_with_an_unsafe_member_name_is_refused_and_nothing_is_written(tmp_path: Path,
                                                                                 evil_name: str) -> None:
    members = genuine_members(tmp_path)
    members[evil_name] = b"pwned"
    archive = tmp_path / "evil.zip"
    build_zip(archive, members)
    store = tmp_path / "store"
    result = cli("import", str(archive), "-b", str(store))
    assert result.code == 4, result.text
    assert f"archive member {evil_name!r} is refused" in result.err and "nothing was imported" in result.err
    assert not store.exists()
    assert not (tmp_path / "evil.txt").exists()


def test_an_archive_with_a_tampered_checksum_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    members = genuine_members(tmp_path)
    tampered = next(name for name in members if name.endswith("02_translation.txt"))
    archive = tmp_path / "tampered.zip"
    build_zip(archive, members, tamper=tampered)
    store = tmp_path / "store"
    (store / "pipeline_runs").mkdir(parents=True)
    result = cli("import", str(archive), "-b", str(store))
    assert result.code == 4, result.text
    assert "02_translation.txt" in result.err and "tampered" in result.err
    assert os.listdir(store / "pipeline_runs") == []  # no run, no staging folder left


def test_an_archive_with_a_symlink_member_is_refused(tmp_path: Path) -> None:
    members = genuine_members(tmp_path)
    run_id = next(iter(members)).split("/")[0]
    archive = tmp_path / "link.zip"
    build_zip(archive, members, links={f"{run_id}/04_output_image.png": "/etc/passwd"})
    result = cli("import", str(archive), "-b", str(tmp_path / "store"))
    assert result.code == 4
    assert "a link" in result.err
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize("kind", ["symlink", "hardlink", "device", "fifo"])
def test_a_tar_archive_with_links_or_special_files_is_refused(tmp_path: Path, kind: str) -> None:
    members = genuine_members(tmp_path)
    run_id = next(iter(members)).split("/")[0]
    archive = tmp_path / "special.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        special = tarfile.TarInfo(f"{run_id}/09_output_audio.wav")
        special.type = {"symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE, "device": tarfile.CHRTYPE,
                        "fifo": tarfile.FIFOTYPE}[kind]
        special.linkname = "/etc/passwd"
        tar.addfile(special)
    result = cli("import", str(archive), "-b", str(tmp_path / "store"))
    assert result.code == 4, result.text
    assert "09_output_audio.wav' is refused" in result.err
    assert not (tmp_path / "store").exists()


def test_an_archive_without_a_manifest_or_with_unlisted_members_is_refused(tmp_path: Path) -> None:
    members = genuine_members(tmp_path)
    no_manifest = tmp_path / "bare.zip"
    build_zip(no_manifest, members, manifest=False)
    assert cli("import", str(no_manifest), "-b", str(tmp_path / "s1")).code == 4
    not_an_archive = tmp_path / "plain.zip"
    not_an_archive.write_text("hello")
    result = cli("import", str(not_an_archive), "-b", str(tmp_path / "s2"))
    assert result.code == 4
    assert "neither a zip nor a tar.gz" in result.err


def test_export_errors_have_their_exit_codes(tmp_path: Path) -> None:
    rec = make_run(tmp_path)
    unknown = cli("export", "no-such-run", "-o", str(tmp_path / "x.zip"), "-b", str(tmp_path))
    assert unknown.code == 3
    assert not (tmp_path / "x.zip").exists()
    bad_suffix = cli("export", rec.run_id, "-o", str(tmp_path / "x.rar"), "-b", str(tmp_path))
    assert bad_suffix.code == 2
    assert ".zip" in bad_suffix.err
    (tmp_path / "exists.zip").write_text("keep me")
    exists = cli("export", rec.run_id, "-o", str(tmp_path / "exists.zip"), "-b", str(tmp_path))
    assert exists.code == 4
    assert (tmp_path / "exists.zip").read_text() == "keep me"
    assert cli("export", rec.run_id, "-o", str(tmp_path / "exists.zip"), "-b", str(tmp_path), "--force").code == 0
    missing = cli("import", str(tmp_path / "nope.zip"), "-b", str(tmp_path))
    assert missing.code == 3


def test_export_refuses_a_run_whose_entity_changed_on_disk(tmp_path: Path) -> None:
    rec = make_run(tmp_path)
    (rec.run_folder / "01_input.txt").write_text("changed after it was recorded")
    result = cli("export", rec.run_id, "-o", str(tmp_path / "x.zip"), "-b", str(tmp_path))
    assert result.code == 1
    assert "01_input.txt" in result.err and "verify" in result.err
    assert not (tmp_path / "x.zip").exists()
