"""`gc`: a dry run by default, removes only what every rule selects, never a running run, finishes leftovers."""

import json
import os
import time
from pathlib import Path

from cli_harness import cli, make_interrupted_run, make_run


def run_ids(base: Path) -> set[str]:
    runs = base / "pipeline_runs"
    return {name for name in os.listdir(runs) if not name.startswith(".")} if runs.exists() else set()


def age_run(folder: Path, days: int) -> None:
    """Make a run look last changed ``days`` ago (as if it had been recorded then)."""
    doc = json.loads((folder / "metadata.json").read_bytes())
    stamp = f"2020-01-{1 + days % 28:02d}T00:00:00+00:00"
    doc["timestamp"] = doc["updated_at"] = stamp
    (folder / "metadata.json").write_text(json.dumps(doc))


def test_gc_without_delete_only_prints_what_would_go(tmp_path: Path) -> None:
    failed = make_run(tmp_path, status="failed")
    make_run(tmp_path, status="completed")
    result = cli("gc", "-b", str(tmp_path), "--status", "failed")
    assert result.code == 0, result.text
    assert failed.run_id in result.out
    assert "dry run: 1 run(s) would be removed" in result.out
    assert failed.run_id in run_ids(tmp_path)


def test_gc_delete_removes_runs_matching_every_rule_and_keeps_the_rest(tmp_path: Path) -> None:
    old_failed = make_run(tmp_path, status="failed")
    age_run(old_failed.run_folder, 3)
    old_completed = make_run(tmp_path, status="completed")
    age_run(old_completed.run_folder, 3)
    new_failed = make_run(tmp_path, status="failed")
    result = cli("gc", "-b", str(tmp_path), "--older-than", "30d", "--status", "failed,cancelled", "--delete")
    assert result.code == 0, result.text
    assert "removed 1 run(s)" in result.out
    assert run_ids(tmp_path) == {old_completed.run_id, new_failed.run_id}
    assert not [n for n in os.listdir(tmp_path / "pipeline_runs") if n.startswith(".trash-")]


def test_gc_keep_last_keeps_the_newest_runs(tmp_path: Path) -> None:
    runs = [make_run(tmp_path) for _ in range(4)]
    result = cli("gc", "-b", str(tmp_path), "--keep-last", "2", "--yes", "--json")
    assert result.code == 0, result.text
    report = json.loads(result.out)
    assert sorted(report["removed"]) == sorted(r.run_id for r in runs[:2])
    assert run_ids(tmp_path) == {r.run_id for r in runs[2:]}


def test_gc_never_removes_a_running_run_but_does_remove_an_interrupted_one(tmp_path: Path) -> None:
    running = make_run(tmp_path, status=None)  # owned by this live process
    interrupted = make_interrupted_run(tmp_path)
    result = cli("gc", "-b", str(tmp_path), "--keep-last", "0", "--delete")
    assert result.code == 0, result.text
    assert "1 running run(s) left alone" in result.out
    assert run_ids(tmp_path) == {running.run_id}
    assert interrupted not in run_ids(tmp_path)
    running.save_entity("interception", "still writing")  # the live run is untouched and still takes entities


def test_gc_refuses_running_in_status_and_without_rules_removes_no_run(tmp_path: Path) -> None:
    rec = make_run(tmp_path)
    no_rule = cli("gc", "-b", str(tmp_path), "--delete")  # only empties the trash and finishes leftovers
    assert no_rule.code == 0, no_rule.text
    assert "removed 0 run(s)" in no_rule.out
    assert run_ids(tmp_path) == {rec.run_id}
    running = cli("gc", "-b", str(tmp_path), "--status", "running")
    assert running.code == 2
    assert "never running" in running.err
    bad_age = cli("gc", "-b", str(tmp_path), "--older-than", "a while")
    assert bad_age.code == 2
    assert "30d" in bad_age.err


def test_gc_finishes_a_removal_that_was_interrupted_halfway(tmp_path: Path) -> None:
    rec = make_run(tmp_path, status="failed")
    keep = make_run(tmp_path)
    trash = tmp_path / "pipeline_runs" / f".trash-{rec.run_id}-abc"
    os.rename(rec.run_folder, trash)  # where a gc killed after its rename leaves the store
    listed = json.loads(cli("ls", "-b", str(tmp_path), "--json").out)
    assert [r["run_id"] for r in listed] == [keep.run_id]  # already gone from every listing
    dry = cli("gc", "-b", str(tmp_path), "--status", "failed")
    assert f"would finish removing {trash.name}" in dry.out
    assert trash.exists()
    done = cli("gc", "-b", str(tmp_path), "--status", "failed", "--delete")
    assert done.code == 0, done.text
    assert not trash.exists()
    assert run_ids(tmp_path) == {keep.run_id}


def test_gc_removes_what_a_killed_run_creation_and_a_killed_save_left(tmp_path: Path) -> None:
    keep = make_run(tmp_path)
    interrupted = make_interrupted_run(tmp_path)
    temp = tmp_path / "pipeline_runs" / interrupted / ".tmp-0123abcd"
    temp.write_bytes(b"half an entity")  # its writer is dead
    staging = tmp_path / "pipeline_runs" / f".create-{keep.run_id}x-0123456789ab"
    staging.mkdir()  # a creation killed before its metadata.json was written, two hours ago
    two_hours_ago = time.time() - 7200
    os.utime(staging, (two_hours_ago, two_hours_ago))
    dry = cli("gc", "-b", str(tmp_path), "--status", "failed")
    assert f"would finish removing {staging.name} (left by an interrupted run creation)" in dry.out, dry.text
    assert f"would finish removing {interrupted}/.tmp-0123abcd (left by an interrupted entity save)" in dry.out
    assert staging.exists() and temp.exists()
    done = cli("gc", "-b", str(tmp_path), "--status", "failed", "--delete", "--json")
    assert done.code == 0, done.text
    assert sorted(json.loads(done.out)["leftovers"]) == sorted([str(staging), str(temp)])
    assert not staging.exists() and not temp.exists()
    assert run_ids(tmp_path) == {keep.run_id, interrupted}
