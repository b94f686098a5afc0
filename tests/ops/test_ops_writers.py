"""verify and repair judge a run with several writers as every other reader does: live while any writer lives."""

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline_recorder import LivePipelineRecorder, RunStore, new_run_id
from pipeline_recorder.atomic import replace_atomically
from pipeline_recorder.document import MetadataDocument
from pipeline_recorder.liveness import current_owner, process_start_ticks
from pipeline_recorder.ops import repair, verify

DEAD_WRITER = {**current_owner(), "pid": 2**22 + 4321, "start_ticks": 1}


@pytest.fixture
def other_writer() -> Iterator[dict[str, object]]:
    """A live process other than this one, as a writer record."""
    process = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        yield {**current_owner(), "pid": process.pid, "start_ticks": process_start_ticks(process.pid)}
    finally:
        process.kill()
        process.wait()


def shared_run(base: Path, writers: list[dict[str, object]]) -> LivePipelineRecorder:
    """A running run whose last writer (``owner``) is dead and whose ``writers`` are as given, with a temp file."""
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=base)
    rec.save_entity("input", "Hallo")
    path = rec.run_folder / "metadata.json"
    doc = json.loads(path.read_bytes())
    doc.update(owner=DEAD_WRITER, writers=writers)
    replace_atomically(path, MetadataDocument.from_dict(doc).to_bytes())
    (rec.run_folder / ".tmp-inflight").write_bytes(b"half an entity")
    return rec


def test_verify_leaves_the_temp_files_of_a_run_whose_earlier_writer_still_lives(
        tmp_path: Path, other_writer: dict[str, object]) -> None:
    rec = shared_run(tmp_path, [other_writer, DEAD_WRITER])
    store = RunStore(tmp_path)
    assert store.read_metadata(rec.run_id)["status"] == "running"
    check = verify.check_run(store, rec.run_id)
    assert check.live and check.clean, check.findings
    repair.repair_run(store, rec.run_id)
    assert (rec.run_folder / ".tmp-inflight").exists()


def test_verify_reports_and_repair_removes_the_temp_files_once_every_writer_is_gone(tmp_path: Path) -> None:
    rec = shared_run(tmp_path, [DEAD_WRITER])
    store = RunStore(tmp_path)
    assert store.read_metadata(rec.run_id)["status"] == "interrupted"
    assert [f.code for f in verify.check_run(store, rec.run_id).findings] == [verify.TEMP_FILE]
    assert repair.repair_run(store, rec.run_id).remaining == []
    assert not (rec.run_folder / ".tmp-inflight").exists()
