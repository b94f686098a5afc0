"""The index follows the run folders: new, changed, deleted, unreadable and interrupted runs, other processes,
and an index file that is missing, corrupt, stale or of another schema."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

from index_helpers import DEAD_OWNER, edit_metadata, ids, write_run

from pipeline_recorder import LivePipelineRecorder, RunStore
from pipeline_recorder.index import INDEX_DIRNAME, INDEX_FILENAME, RunIndex
from pipeline_recorder.liveness import current_owner, process_start_ticks
from support import wait_until

TS = "2025-11-04T20:12:{:02d}.000000+00:00"


def statuses(index: RunIndex) -> dict[str, str]:
    return {run["run_id"]: run["status"] for run in index.query(limit=200)[0]}


def test_a_run_created_after_a_listing_appears_in_the_next_one(tmp_path: Path, index: RunIndex) -> None:
    assert index.query() == ([], None)
    rec = LivePipelineRecorder("fresh-run", "stillepost", "eco", "kids", base_path=tmp_path)
    assert ids(index.query()[0]) == ["fresh-run"]
    rec.save_entity("input", "Hallo")
    rec.mark_complete()
    [summary] = index.query(status="completed")[0]
    assert (summary["run_id"], summary["entity_count"], summary["progress"]) == ("fresh-run", 1, "1/6")


def test_a_deleted_run_folder_disappears_from_the_listing(store: RunStore, index: RunIndex) -> None:
    for n in range(3):
        write_run(store.runs_dir, f"run-{n}", timestamp=TS.format(n))
    assert ids(index.query()[0]) == ["run-2", "run-1", "run-0"]
    shutil.rmtree(store.runs_dir / "run-1")
    assert ids(index.query()[0]) == ["run-2", "run-0"]
    assert index.count() == 2


def test_a_half_deleted_run_folder_is_skipped_and_the_rest_listed(store: RunStore, index: RunIndex) -> None:
    write_run(store.runs_dir, "kept")
    half = write_run(store.runs_dir, "half-deleted", entities=2)
    assert set(ids(index.query()[0])) == {"kept", "half-deleted"}
    (half / "metadata.json").unlink()  # rmtree got this far, the folder and an entity are still there
    assert ids(index.query()[0]) == ["kept"]


def test_unreadable_metadata_is_skipped_until_it_becomes_readable(store: RunStore, index: RunIndex) -> None:
    write_run(store.runs_dir, "good", timestamp=TS.format(1))
    (store.runs_dir / "torn").mkdir()
    (store.runs_dir / "torn" / "metadata.json").write_bytes(b'{"run_id": "torn", "entit')
    (store.runs_dir / "no-metadata-yet").mkdir()
    (store.runs_dir / "dir-as-metadata" / "metadata.json").mkdir(parents=True)
    write_run(store.runs_dir, "other-name")
    edit_metadata(store.runs_dir / "other-name", run_id="not-its-folder")
    (store.runs_dir / "linked").mkdir()
    (store.runs_dir / "linked" / "metadata.json").symlink_to(store.runs_dir / "good" / "metadata.json")
    (store.runs_dir / "not a run id!").mkdir()
    (store.runs_dir / ".helper").mkdir()
    assert ids(index.query()[0]) == ["good"]

    write_run(store.runs_dir, "torn", timestamp=TS.format(2))
    write_run(store.runs_dir, "no-metadata-yet", timestamp=TS.format(3))
    assert ids(index.query()[0]) == ["no-metadata-yet", "torn", "good"]


def test_a_running_run_whose_owner_died_lists_as_interrupted(store: RunStore, index: RunIndex) -> None:
    write_run(store.runs_dir, "alive", status="running", timestamp=TS.format(2))
    write_run(store.runs_dir, "dead", status="running", owner=DEAD_OWNER, timestamp=TS.format(1))
    assert statuses(index) == {"alive": "running", "dead": "interrupted"}
    assert ids(index.query(status="interrupted")[0]) == ["dead"]
    assert ids(index.query(status="running")[0]) == ["alive"]


def _owner_record(pid: int) -> dict[str, object]:
    """A writer record for process ``pid`` as the recorder would write it."""
    return {**current_owner(), "pid": pid, "start_ticks": process_start_ticks(pid)}


def test_a_running_run_lists_as_running_while_any_of_its_writers_lives(store: RunStore, index: RunIndex) -> None:
    """The last writer (``owner``) died but an earlier writer still lives: every reader of the run (RunStore, the
    HTTP status, verify) says running, so the listing must too, and turn to interrupted once that writer dies."""
    helper = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        folder = write_run(store.runs_dir, "shared", status="running", owner=DEAD_OWNER, timestamp=TS.format(1))
        edit_metadata(folder, writers=[_owner_record(helper.pid), DEAD_OWNER])
        old = 1_600_000_000  # an mtime far from now: the index trusts the signature and judges the stored writers
        os.utime(folder / "metadata.json", (old, old))
        assert store.read_metadata("shared")["status"] == "running"
        assert statuses(index) == {"shared": "running"}
        assert statuses(index) == {"shared": "running"}  # judged again from the index row, file unchanged
    finally:
        helper.kill()
        helper.wait()
    assert store.read_metadata("shared")["status"] == "interrupted"
    assert statuses(index) == {"shared": "interrupted"}


def test_an_index_of_schema_1_is_rebuilt_with_the_writers(store: RunStore) -> None:
    """Schema 1 stored only the owner; its rows must not be judged by the owner alone after an upgrade."""
    folder = write_run(store.runs_dir, "shared", status="running", owner=DEAD_OWNER, timestamp=TS.format(1))
    edit_metadata(folder, writers=[current_owner(), DEAD_OWNER])
    with RunIndex(store) as index:
        assert statuses(index) == {"shared": "running"}
    with sqlite3.connect(_db_path(store)) as conn:
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
        conn.execute("UPDATE runs SET status = 'interrupted'")
    with RunIndex(store) as index:
        assert statuses(index) == {"shared": "running"}
    with sqlite3.connect(_db_path(store)) as conn:
        [(writers,)] = conn.execute("SELECT writers FROM runs").fetchall()
    assert json.loads(writers)["writers"] == [current_owner(), DEAD_OWNER]


RECORD_AND_WAIT = """
import sys
from pipeline_recorder import LivePipelineRecorder
rec = LivePipelineRecorder(sys.argv[1], "stillepost", "eco", "kids", user_id="worker", base_path=sys.argv[2])
rec.save_entity("input", "from another process")
print("ready", flush=True)
sys.stdin.readline()
if sys.argv[3] == "complete":
    rec.mark_complete()
"""


def _recording_process(tmp_path: Path, run_id: str, then: str) -> subprocess.Popen[str]:
    process = subprocess.Popen([sys.executable, "-c", RECORD_AND_WAIT, run_id, str(tmp_path), then],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline() == "ready\n"
    return process


def test_a_run_whose_writer_is_killed_turns_from_running_to_interrupted(tmp_path: Path, index: RunIndex) -> None:
    process = _recording_process(tmp_path, "killed-run", "hang")
    try:
        assert statuses(index) == {"killed-run": "running"}
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert statuses(index) == {"killed-run": "interrupted"}
    assert ids(index.query(status="interrupted")[0]) == ["killed-run"]


def test_a_run_written_by_another_process_appears_and_follows_its_status(tmp_path: Path, index: RunIndex) -> None:
    assert index.query() == ([], None)
    process = _recording_process(tmp_path, "remote-run", "complete")
    [summary] = index.query(user_id="worker")[0]
    assert (summary["run_id"], summary["status"], summary["entity_count"]) == ("remote-run", "running", 1)
    assert process.stdin is not None
    process.stdin.write("go\n")
    process.stdin.close()
    assert process.wait(timeout=30) == 0
    wait_until(lambda: statuses(index) == {"remote-run": "completed"})


def test_a_finished_run_changed_by_a_tool_shows_at_once_after_note(store: RunStore, index: RunIndex) -> None:
    folder = write_run(store.runs_dir, "finished", user_id="alice")
    assert ids(index.query(user_id="alice")[0]) == ["finished"]
    edit_metadata(folder, user_id="bob", status="failed")
    index.note("finished")
    assert ids(index.query(user_id="bob", status="failed")[0]) == ["finished"]
    assert index.query(user_id="alice")[0] == []


def test_a_finished_run_changed_by_a_tool_shows_without_note(store: RunStore, index: RunIndex) -> None:
    folder = write_run(store.runs_dir, "finished", user_id="alice")
    assert ids(index.query(user_id="alice")[0]) == ["finished"]
    edit_metadata(folder, user_id="bob")
    wait_until(lambda: ids(index.query(user_id="bob")[0]) == ["finished"])


def test_note_of_a_vanished_or_invalid_run_changes_nothing_else(store: RunStore, index: RunIndex) -> None:
    write_run(store.runs_dir, "kept")
    index.note("never-existed")
    index.note("../escape")
    assert ids(index.query()[0]) == ["kept"]


def _db_path(store: RunStore) -> Path:
    return store.runs_dir / INDEX_DIRNAME / INDEX_FILENAME


def _three_runs(store: RunStore) -> None:
    for n in range(3):
        write_run(store.runs_dir, f"run-{n}", timestamp=TS.format(n))


def test_a_missing_index_file_is_rebuilt_from_the_folders(store: RunStore) -> None:
    _three_runs(store)
    with RunIndex(store) as index:
        assert index.count() == 3
    shutil.rmtree(store.runs_dir / INDEX_DIRNAME)
    with RunIndex(store) as index:
        assert ids(index.query()[0]) == ["run-2", "run-1", "run-0"]
    assert _db_path(store).is_file()


def test_an_index_file_deleted_while_open_is_rebuilt(store: RunStore, index: RunIndex) -> None:
    _three_runs(store)
    assert index.count() == 3
    shutil.rmtree(store.runs_dir / INDEX_DIRNAME)
    write_run(store.runs_dir, "run-3", timestamp=TS.format(3))
    assert ids(index.query()[0]) == ["run-3", "run-2", "run-1", "run-0"]
    assert _db_path(store).is_file()


def test_a_corrupt_index_file_is_replaced_by_a_rebuilt_one(store: RunStore) -> None:
    _three_runs(store)
    with RunIndex(store) as index:
        assert index.count() == 3
    for suffix in ("-wal", "-shm"):
        Path(f"{_db_path(store)}{suffix}").unlink(missing_ok=True)
    _db_path(store).write_bytes(b"this is no SQLite database" * 200)
    with RunIndex(store) as index:
        assert ids(index.query()[0]) == ["run-2", "run-1", "run-0"]
    with sqlite3.connect(_db_path(store)) as conn:
        assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 3


def test_an_index_of_another_schema_version_is_rebuilt(store: RunStore) -> None:
    _three_runs(store)
    with RunIndex(store) as index:
        assert index.count() == 3
    with sqlite3.connect(_db_path(store)) as conn:
        conn.execute("UPDATE meta SET value = 'old' WHERE key = 'schema_version'")
        conn.execute("DELETE FROM runs WHERE run_id = 'run-1'")
    with RunIndex(store) as index:
        assert ids(index.query()[0]) == ["run-2", "run-1", "run-0"]


def test_an_index_left_stale_while_no_one_listed_catches_up(store: RunStore) -> None:
    _three_runs(store)
    write_run(store.runs_dir, "was-running", status="running", timestamp=TS.format(9))
    with RunIndex(store) as index:
        assert index.count() == 4
    shutil.rmtree(store.runs_dir / "run-0")
    write_run(store.runs_dir, "run-5", timestamp=TS.format(5))
    edit_metadata(store.runs_dir / "was-running", status="completed")
    with RunIndex(store) as index:
        assert statuses(index) == {"was-running": "completed", "run-5": "completed", "run-2": "completed",
                                   "run-1": "completed"}


def test_an_index_that_cannot_be_written_is_kept_in_memory(store: RunStore, tmp_path: Path) -> None:
    _three_runs(store)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with RunIndex(store, db_path=blocker / "index.sqlite3") as index:
        assert ids(index.query()[0]) == ["run-2", "run-1", "run-0"]
        write_run(store.runs_dir, "run-3", timestamp=TS.format(3))
        assert index.count() == 4


LIST_IN_OTHER_PROCESS = """
import json, sys
from pipeline_recorder import RunStore
from pipeline_recorder.index import RunIndex
with RunIndex(RunStore(sys.argv[1])) as index:
    print(json.dumps([run["run_id"] for run in index.query(limit=200)[0]]))
"""


def test_processes_and_threads_share_one_index_file(tmp_path: Path, store: RunStore) -> None:
    for n in range(40):
        write_run(store.runs_dir, f"run-{n:02d}", timestamp=TS.format(n))
    errors: list[BaseException] = []
    with RunIndex(store) as index:
        def list_repeatedly() -> None:
            try:
                for _ in range(20):
                    assert len(index.query(limit=200)[0]) >= 40
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=list_repeatedly) for _ in range(3)]
        others = [subprocess.Popen([sys.executable, "-c", LIST_IN_OTHER_PROCESS, str(tmp_path)],
                                   stdout=subprocess.PIPE, text=True) for _ in range(2)]
        for thread in threads:
            thread.start()
        for n in range(40, 50):
            write_run(store.runs_dir, f"run-{n:02d}", timestamp=TS.format(n))
        for thread in threads:
            thread.join()
        outputs = [json.loads(process.communicate(timeout=60)[0]) for process in others]
        assert errors == []
        assert all(40 <= len(listed) <= 50 for listed in outputs)
        assert index.count() == 50
    with sqlite3.connect(_db_path(store)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 50
    assert not any(name.startswith(".tmp") for name in os.listdir(store.runs_dir))


def test_an_index_file_whose_tables_are_damaged_is_rebuilt_when_a_listing_reads_them(store: RunStore) -> None:
    _three_runs(store)
    with RunIndex(store) as index:
        assert index.count() == 3
    with sqlite3.connect(_db_path(store)) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with open(_db_path(store), "r+b") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(3 * page_size)  # the header, schema and meta pages stay intact: the file opens, then reads fail
        f.write(b"\xff" * (size - 3 * page_size))
    with RunIndex(store) as index:
        assert ids(index.query()[0]) == ["run-2", "run-1", "run-0"]
    with sqlite3.connect(_db_path(store)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_rebuild_indexes_every_folder_again(store: RunStore, index: RunIndex) -> None:
    _three_runs(store)
    assert index.count() == 3
    with sqlite3.connect(_db_path(store)) as conn:
        conn.execute("UPDATE runs SET user_id = 'wrong'")
    index.rebuild()
    assert index.query(user_id="wrong") == ([], None)
    assert index.count() == 3


def test_a_runs_folder_deleted_and_recreated_is_indexed_again(store: RunStore, index: RunIndex) -> None:
    _three_runs(store)
    assert index.count() == 3
    shutil.rmtree(store.runs_dir)
    assert index.query() == ([], None)
    store.runs_dir.mkdir()
    write_run(store.runs_dir, "reborn", timestamp=TS.format(7))
    assert ids(index.query()[0]) == ["reborn"]
    write_run(store.runs_dir, "after-reborn", timestamp=TS.format(8))
    assert ids(index.query()[0]) == ["after-reborn", "reborn"]


def test_many_runs_created_between_two_listings_all_appear(store: RunStore, index: RunIndex) -> None:
    assert index.query() == ([], None)
    for n in range(300):
        write_run(store.runs_dir, f"run-{n:03d}", timestamp=TS.format(n % 60))
    assert index.count() == 300
    for n in range(0, 300, 2):
        shutil.rmtree(store.runs_dir / f"run-{n:03d}")
    assert index.count() == 150


def _index_names(store: RunStore) -> set[str]:
    with sqlite3.connect(_db_path(store)) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}


def test_a_cold_build_in_bulk_lists_everything_and_keeps_its_indexes(store: RunStore, monkeypatch) -> None:
    from pipeline_recorder.index import freshness, schema

    monkeypatch.setattr(freshness, "BULK_THRESHOLD", 10)
    monkeypatch.setattr(freshness, "WRITE_BATCH", 7)
    for n in range(40):
        write_run(store.runs_dir, f"run-{n:02d}", timestamp=TS.format(n), user_id=f"user-{n % 4}")
    with RunIndex(store) as index:
        assert ids(index.query(user_id="user-1", limit=3)[0]) == ["run-37", "run-33", "run-29"]
        assert index.count() == 40
    assert set(schema.INDEXES) <= _index_names(store)


def test_indexes_lost_by_a_cold_build_that_stopped_are_made_again(store: RunStore) -> None:
    _three_runs(store)
    with RunIndex(store) as index:
        assert index.count() == 3
    with sqlite3.connect(_db_path(store)) as conn:
        conn.execute("DROP INDEX runs_order")
        conn.execute("DROP INDEX runs_status")
    with RunIndex(store) as index:
        assert ids(index.query(status="completed")[0]) == ["run-2", "run-1", "run-0"]
    assert {"runs_order", "runs_status"} <= _index_names(store)


def test_an_index_file_that_turns_read_only_is_kept_in_memory(store: RunStore, monkeypatch) -> None:
    _three_runs(store)
    with RunIndex(store) as index:
        assert index.count() == 3
    real_connect = sqlite3.connect

    def read_only(path, *args, **kwargs):
        if str(path) == ":memory:":
            return real_connect(path, *args, **kwargs)
        return real_connect(f"file:{path}?mode=ro", *args, uri=True, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", read_only)
    write_run(store.runs_dir, "run-3", timestamp=TS.format(3))
    with RunIndex(store) as index:
        assert ids(index.query()[0]) == ["run-3", "run-2", "run-1", "run-0"]
        write_run(store.runs_dir, "run-4", timestamp=TS.format(4))
        assert ids(index.query(limit=2)[0]) == ["run-4", "run-3"]


def test_a_full_disk_leaves_the_listing_working_and_it_catches_up_afterwards(store: RunStore,
                                                                             index: RunIndex) -> None:
    _three_runs(store)
    assert index.count() == 3
    conn = index._conn
    assert conn is not None
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")  # as if the disk were full: no page more
    for n in range(10, 70):
        write_run(store.runs_dir, f"run-{n}", timestamp=TS.format(n % 60), user_id="x" * 150)
    page, _ = index.query(limit=200)
    assert {"run-2", "run-1", "run-0"} <= set(ids(page))
    conn.execute("PRAGMA max_page_count = 1073741823")
    assert index.count() == 63
