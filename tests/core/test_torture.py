"""Faults and load: writers killed with SIGKILL at random moments, many writers at once, a reader meanwhile.

After all of it, every run must keep the promises of DESIGN.md section 2: metadata.json parses and follows the
format, every listed entity exists with its size and hash, and no acknowledged entity is missing.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest
from core_helpers import check_run, read_json_line, spawn

from pipeline_recorder import LivePipelineRecorder, RunStore, new_run_id
from pipeline_recorder.document import version as fileversion

KILLS = 120       # writer processes killed with SIGKILL
PARALLEL = 4      # at a time, so writers of one run also die mid-transaction while others wait on the lock
RUNS = 10         # runs shared by the writers


def _kill_one(proc: subprocess.Popen[str], rng: random.Random) -> list[dict]:
    """Let the writer acknowledge a random number of entities, then SIGKILL it at a random moment."""
    acks: list[dict] = []
    target = rng.randrange(0, 12)
    if target == 0:
        time.sleep(rng.uniform(0.0, 0.25))  # a random moment during start-up or run creation
    else:
        assert proc.stdout is not None
        while len(acks) < target:
            line = proc.stdout.readline()
            if not line:
                break
            acks.append(json.loads(line))
        time.sleep(rng.uniform(0.0, 0.004))  # a random moment inside the next save
    proc.kill()
    out, _ = proc.communicate()
    acks.extend(json.loads(line) for line in out.splitlines())  # acked before the kill, read after it
    return acks


@pytest.mark.slow
def test_kill_9_at_random_moments_loses_no_acknowledged_entity(base: Path) -> None:
    seed = int(os.environ.get("TORTURE_SEED", random.randrange(1 << 30)))
    run_ids = [new_run_id() for _ in range(RUNS)]
    acked: dict[str, list[dict]] = defaultdict(list)
    lock = threading.Lock()
    killed: list[int] = []
    counter = iter(range(KILLS))

    def killer(worker: int) -> None:
        rng = random.Random(seed * 31 + worker)
        for n in counter:  # shared iterator: KILLS processes in all
            run_id = run_ids[n % RUNS]
            proc = spawn("torture", base, run_id, f"{seed}-{n}")
            acks = _kill_one(proc, rng)
            with lock:
                killed.append(proc.returncode)
                for a in acks:
                    acked[a["run_id"]].append(a)

    threads = [threading.Thread(target=killer, args=(w,)) for w in range(PARALLEL)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(killed) == KILLS and all(code == -9 for code in killed), f"seed {seed}"
    assert sum(len(a) for a in acked.values()) > KILLS, "writers acknowledged too little to prove anything"
    store = RunStore(base)
    for run_id in store.run_ids():
        doc = check_run(store.run_folder(run_id))
        listed = {e["filename"]: e["sha256"] for e in doc["entities"]}
        for a in acked[run_id]:
            assert listed.get(a["filename"]) == a["sha256"], f"acknowledged {a['filename']} lost (seed {seed})"
        assert store.read_metadata(run_id)["status"] == "interrupted"  # every writer of it was killed
    assert set(acked) <= set(store.run_ids())
    # A killed creator leaves at most a hidden staging folder, never a run folder without metadata.json.
    for entry in os.scandir(store.runs_dir):
        assert entry.name.startswith(".") or (Path(entry.path) / "metadata.json").is_file()
    # The runs stay usable: a new writer continues each one after its last listed entity.
    for run_id in store.run_ids():
        count = len(store.read_metadata(run_id)["entities"])
        rec = LivePipelineRecorder(run_id, "stillepost", "eco", "kids", base_path=base)
        assert rec.save_entity("input", "after the storm") == f"{count + 1:02d}_input.txt"
        check_run(rec.run_folder)


@pytest.mark.slow
def test_four_processes_of_four_threads_write_one_run_without_losing_or_reusing_a_sequence(base: Path) -> None:
    run_id = new_run_id()
    procs = [spawn("concurrent", base, run_id, f"p{k}", 4, 12) for k in range(4)]
    for proc in procs:
        assert "ready" in read_json_line(proc)
    for proc in procs:  # start all at once
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    acks: list[dict] = []
    for proc in procs:
        out, _ = proc.communicate()
        assert proc.returncode == 0
        acks.extend(json.loads(line) for line in out.splitlines())
    assert len(acks) == 4 * 4 * 12
    doc = check_run(RunStore(base).run_folder(run_id))  # unique, contiguous sequences; files match hashes
    assert len(doc["entities"]) == len(acks)
    folder = RunStore(base).run_folder(run_id)
    for a in acks:
        assert (folder / a["filename"]).read_text(encoding="utf-8") == a["text"]
    assert sorted(e["filename"] for e in doc["entities"]) == sorted(a["filename"] for a in acks)
    assert len({w["pid"] for w in doc["writers"]}) == 4


def test_a_reader_process_never_sees_invalid_json_while_a_run_is_written(rec: LivePipelineRecorder) -> None:
    reader = spawn("reader", rec.run_folder / "metadata.json")
    try:
        assert read_json_line(reader) == {"ready": True}
        for n in range(150):
            rec.save_entity("translation", "x" * (n * 37 % 3000))  # metadata.json grows and changes size
            if n % 5 == 0:
                rec.set_state(n % 5, "s" * (1 + n % 40))
            if n % 7 == 0:
                rec.save_entity("output_image", os.urandom(n * 101))
        rec.mark_complete()
        assert reader.stdin is not None
        reader.stdin.write("stop\n")
        reader.stdin.flush()
        result = read_json_line(reader)
    finally:
        reader.kill()
        reader.wait()
    assert result["invalid"] == 0, result["errors"]
    assert result["errors"] == []
    assert result["reads"] > 20 and result["revisions"] > 5, result


def test_a_writer_with_a_stale_stat_still_sees_other_writers_entities(base: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A replaced metadata.json can get the freed inode number back with the same size within one timestamp
    tick; a writer that trusted the stat alone would write its stale copy over another writer's entity."""
    run_id = new_run_id()
    first = LivePipelineRecorder(run_id, "c", "eco", "kids", base_path=base)
    second = LivePipelineRecorder(run_id, "c", "eco", "kids", base_path=base)
    first.save_entity("input", "a")
    # From now on every version of every file has the same stat signature, as in the worst case of inode reuse
    # within one tick: only the header comparison can tell the truth.
    monkeypatch.setattr(fileversion, "signature_of", lambda st: (1, 2, 3, 4))
    assert second.get_entities()  # second has read the run once, under the colliding signature
    first.save_entity("translation", "b")
    assert second.save_entity("safety", {"ok": True}) == "03_safety.json"
    monkeypatch.undo()
    doc = check_run(first.run_folder)
    assert [e["filename"] for e in doc["entities"]] == ["01_input.txt", "02_translation.txt", "03_safety.json"]
