"""`ls` and `show`, run as a user runs them."""

import json
from pathlib import Path

from cli_harness import cli, make_run


def test_ls_on_an_empty_store_says_there_are_no_runs(tmp_path: Path) -> None:
    result = cli("ls", "--base-path", str(tmp_path))
    assert result.code == 0, result.text
    assert "no runs" in result.out


def test_ls_lists_runs_newest_first_with_status_and_progress(tmp_path: Path) -> None:
    older = make_run(tmp_path, status="failed", config="haiku")
    newer = make_run(tmp_path, status="completed")
    result = cli("ls", "--base-path", str(tmp_path))
    assert result.code == 0, result.text
    assert result.out.index(newer.run_id) < result.out.index(older.run_id)
    line = next(line for line in result.out.splitlines() if older.run_id in line)
    assert "failed" in line and "haiku" in line and "3/3" in line


def test_ls_json_applies_the_status_config_and_limit_filters(tmp_path: Path) -> None:
    failed = make_run(tmp_path, status="failed", config="haiku", user="ada")
    make_run(tmp_path, status="completed", config="haiku", user="ada")
    make_run(tmp_path, status="failed", config="stillepost", user="bob")
    result = cli("ls", "--base-path", str(tmp_path), "--json", "--status", "failed", "--config", "haiku")
    assert result.code == 0, result.text
    assert [run["run_id"] for run in json.loads(result.out)] == [failed.run_id]
    by_user = json.loads(cli("ls", "-b", str(tmp_path), "--json", "--user", "bob").out)
    assert [run["user_id"] for run in by_user] == ["bob"]
    assert len(json.loads(cli("ls", "-b", str(tmp_path), "--json", "--limit", "2").out)) == 2


def test_ls_since_a_moment_in_the_future_lists_nothing_and_until_it_lists_all(tmp_path: Path) -> None:
    make_run(tmp_path)
    assert json.loads(cli("ls", "-b", str(tmp_path), "--json", "--since", "2999-01-01").out) == []
    assert len(json.loads(cli("ls", "-b", str(tmp_path), "--json", "--until", "2999-01-01").out)) == 1
    assert len(json.loads(cli("ls", "-b", str(tmp_path), "--json", "--since", "1h").out)) == 1


def test_ls_with_an_unknown_status_or_bad_time_exits_2_and_says_what_is_accepted(tmp_path: Path) -> None:
    bad_status = cli("ls", "-b", str(tmp_path), "--status", "exploded")
    assert bad_status.code == 2
    assert "exploded" in bad_status.err and "completed" in bad_status.err
    bad_time = cli("ls", "-b", str(tmp_path), "--since", "yesterday-ish")
    assert bad_time.code == 2
    assert "ISO 8601" in bad_time.err


def test_show_prints_the_state_and_every_entity(tmp_path: Path) -> None:
    rec = make_run(tmp_path)
    result = cli("show", rec.run_id, "--base-path", str(tmp_path))
    assert result.code == 0, result.text
    for filename in ("01_input.txt", "02_translation.txt", "03_safety.json"):
        assert filename in result.out
    assert "completed" in result.out and "translation_and_safety" in result.out
    assert str(rec.run_folder) in result.out


def test_show_json_prints_the_runs_metadata(tmp_path: Path) -> None:
    rec = make_run(tmp_path)
    result = cli("show", rec.run_id, "-b", str(tmp_path), "--json")
    assert result.code == 0, result.text
    assert json.loads(result.out) == rec.get_status()


def test_show_of_an_unknown_run_exits_3_and_of_a_malformed_id_exits_2(tmp_path: Path) -> None:
    unknown = cli("show", "no-such-run", "-b", str(tmp_path))
    assert unknown.code == 3
    assert "no-such-run" in unknown.err and "not found" in unknown.err
    malformed = cli("show", "../etc", "-b", str(tmp_path))
    assert malformed.code == 2
    assert "invalid run id" in malformed.err


def test_show_of_a_run_with_corrupt_metadata_exits_1_and_names_the_file(tmp_path: Path) -> None:
    rec = make_run(tmp_path)
    (rec.run_folder / "metadata.json").write_text("{not json")
    result = cli("show", rec.run_id, "-b", str(tmp_path))
    assert result.code == 1
    assert "metadata.json" in result.err
