"""`erase`: a dry run unless --delete, then the user's runs are gone for good and the others stay."""

from __future__ import annotations

import json
from pathlib import Path

from cli_harness import cli, make_run


def test_erase_is_a_dry_run_until_delete_and_then_removes_only_that_users_runs(tmp_path: Path) -> None:
    gone, kept = make_run(tmp_path, user="kind-17"), make_run(tmp_path, user="kind-18")
    dry = cli("erase", "--user", "kind-17", "-b", str(tmp_path))
    assert dry.code == 0, dry.text
    assert f"would erase {gone.run_id}" in dry.out and "dry run: would erase 1 run(s)" in dry.out
    assert gone.run_folder.is_dir()
    done = cli("erase", "--user", "kind-17", "-b", str(tmp_path), "--delete", "--json")
    assert done.code == 0, done.text
    answer = json.loads(done.out)
    assert answer["runs"] == [gone.run_id] and answer["audit"]["runs"] == 1
    assert "kind-17" not in json.dumps(answer["audit"])
    assert not gone.run_folder.exists() and kept.run_folder.is_dir()
    log = (tmp_path / "pipeline_runs" / ".erasures.jsonl").read_text()
    assert len(log.splitlines()) == 1 and "kind-17" not in log


def test_erase_needs_exactly_one_of_user_and_device(tmp_path: Path) -> None:
    for args in ((), ("--user", "a", "--device", "b")):
        result = cli("erase", *args, "-b", str(tmp_path))
        assert result.code == 2
        assert "--user USER or --device DEVICE" in result.err


def test_erase_leaves_a_running_run_and_says_so_with_exit_1(tmp_path: Path) -> None:
    running = make_run(tmp_path, status=None, user="kind-17")
    result = cli("erase", "--user", "kind-17", "-b", str(tmp_path), "--delete")
    assert result.code == 1
    assert f"left {running.run_id}: it is still running" in result.err
    assert running.run_folder.is_dir()
