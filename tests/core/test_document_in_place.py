"""metadata.json changed in place into its spare copy, then swapped in (stores/folder_document.py): every version a
reader can reach stays complete and unchanged, and nothing the spare's guards refuse is ever written into."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

from core_helpers import check_run

from pipeline_recorder import LivePipelineRecorder, atomic, new_run_id
from pipeline_recorder.stores.folder_document import SPARE_FILENAME

MARKER = b'\n  "entities": '


def _metadata(rec: LivePipelineRecorder) -> Path:
    return rec.run_folder / "metadata.json"


def test_a_running_run_swaps_two_files_and_every_version_lists_every_acknowledged_entity(base: Path) -> None:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=base)
    inodes, versions = [], []
    for n in range(1, 21):
        rec.save_entity("text", f"entity {n}")
        inodes.append(os.stat(_metadata(rec)).st_ino)
        versions.append(_metadata(rec).read_bytes())
        doc = check_run(rec.run_folder)
        assert len(doc["entities"]) == n
        if n > 1:  # the spare is the version before, whole and unchanged
            assert (rec.run_folder / SPARE_FILENAME).read_bytes() == versions[-2]
    # Changed in place: from the third change on, metadata.json is one of two files, taking turns.
    assert len(set(inodes[2:])) == 2 and all(a != b for a, b in itertools.pairwise(inodes[2:]))


def test_a_run_that_ends_leaves_its_folder_as_it_always_was(base: Path) -> None:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=base)
    for n in range(5):
        rec.save_entity("text", f"entity {n}")
    assert b" " + MARKER in _metadata(rec).read_bytes()  # padded while running
    rec.mark_complete()
    data = _metadata(rec).read_bytes()
    assert not (rec.run_folder / SPARE_FILENAME).exists()
    assert b" " + MARKER not in data  # no padding left
    assert json.loads(data)["status"] == "completed" and len(json.loads(data)["entities"]) == 5


def test_a_reader_holding_an_old_version_open_never_sees_it_change(base: Path) -> None:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=base)
    for n in range(3):
        rec.save_entity("text", f"entity {n}")
    with open(_metadata(rec), "rb") as held:
        seen = held.read()
        for n in range(6):  # the held version becomes the spare, and would be the next to change in place
            rec.save_entity("text", f"more {n}")
            held.seek(0)
            assert held.read() == seen
    check_run(rec.run_folder)


def test_a_reader_in_another_process_holding_an_old_version_never_sees_it_change(base: Path) -> None:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=base)
    for n in range(3):
        rec.save_entity("text", f"entity {n}")
    reader = subprocess.Popen(
        [sys.executable, "-c", "import sys\nf = open(sys.argv[1], 'rb')\nfirst = f.read()\nprint('open', flush=True)\n"
         "sys.stdin.readline()\nf.seek(0)\nprint(f.read() == first, flush=True)", str(_metadata(rec))],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert reader.stdout is not None and reader.stdin is not None
    try:
        assert reader.stdout.readline().strip() == "open"
        for n in range(6):
            rec.save_entity("text", f"more {n}")
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "True"
    finally:
        reader.kill()
        reader.wait()


def test_a_hard_link_to_a_version_never_sees_it_change(base: Path, tmp_path: Path) -> None:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=base)
    for n in range(3):
        rec.save_entity("text", f"entity {n}")
    os.link(_metadata(rec), tmp_path / "backup-current.json")  # as `cp -al` makes a backup
    os.link(rec.run_folder / SPARE_FILENAME, tmp_path / "backup-spare.json")
    linked = {name: (tmp_path / name).read_bytes() for name in ("backup-current.json", "backup-spare.json")}
    for n in range(6):
        rec.save_entity("text", f"more {n}")
    assert {name: (tmp_path / name).read_bytes() for name in linked} == linked
    assert len(check_run(rec.run_folder)["entities"]) == 9


def test_a_spare_changed_by_someone_else_is_not_written_into(base: Path) -> None:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=base)
    for n in range(3):
        rec.save_entity("text", f"entity {n}")
    os.truncate(rec.run_folder / SPARE_FILENAME, 10)  # a tool (or a person) cut the helper file
    rec.save_entity("text", "after the cut")
    assert len(check_run(rec.run_folder)["entities"]) == 4


def test_another_writer_in_between_is_never_overwritten(base: Path) -> None:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=base)
    for n in range(3):
        rec.save_entity("text", f"mine {n}")
    other = LivePipelineRecorder.open(rec.run_id, base_path=base)
    for n in range(3):  # the other writer's second change puts its own previous version under the spare's name
        other.save_entity("text", f"theirs {n}")
    for n in range(2):
        rec.save_entity("text", f"mine again {n}")
    doc = check_run(rec.run_folder)
    assert [e["sequence"] for e in doc["entities"]] == list(range(1, 9))
    other.close()


def test_records_rewritten_by_someone_else_are_kept(base: Path) -> None:
    """A repair or a hand edit rewrites an earlier record; the spare still holds the old one and must not be used."""
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=base)
    for n in range(4):
        rec.save_entity("text", f"entity {n}")
    doc = json.loads(_metadata(rec).read_bytes())
    doc["entities"][0]["metadata"] = {"edited": "by hand"}
    doc["revision"] += 1
    atomic.replace_atomically(_metadata(rec), json.dumps(doc, indent=2).encode())
    rec.save_entity("text", "after the edit")
    saved = check_run(rec.run_folder)
    assert saved["entities"][0]["metadata"] == {"edited": "by hand"} and len(saved["entities"]) == 5


def test_a_header_that_outgrows_its_room_is_written_whole(base: Path) -> None:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=base)
    for n in range(3):
        rec.save_entity("text", f"entity {n}")
    rec.annotate(notes="a long note " * 400)  # far beyond the header's padding
    rec.save_entity("text", "after the note")
    doc = check_run(rec.run_folder)
    assert doc["notes"].startswith("a long note") and len(doc["entities"]) == 4


def test_something_else_under_the_spare_name_never_fails_a_save(base: Path) -> None:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=base)
    rec.save_entity("text", "first")
    (rec.run_folder / SPARE_FILENAME).mkdir()  # a folder where the spare copy would go
    (rec.run_folder / SPARE_FILENAME / "x").write_text("in the way")
    for n in range(4):
        rec.save_entity("text", f"entity {n}")
    assert len(check_run(rec.run_folder)["entities"]) == 5
    rec.mark_complete()
    assert json.loads(_metadata(rec).read_bytes())["status"] == "completed"
