"""Processes the core tests start: writers to kill, concurrent writers, a reader, a disk-full scenario.

    python core_workers.py hold BASE RUN_ID            create a run, save one entity, say "ready", wait on stdin
    python core_workers.py append BASE RUN_ID TYPE TEXT   attach to a run, save one entity, print its filename
    python core_workers.py torture BASE RUN_ID SEED    save entities forever; one JSON ack line after each returns
    python core_workers.py concurrent BASE RUN_ID TAG THREADS COUNT   say "ready", wait for "go", save from threads
    python core_workers.py reader METADATA_PATH         read the file in a loop until stdin has a line; print counts
    python core_workers.py diskfull MOUNTPOINT          (inside `unshare -rm`) fill a tiny tmpfs, make it read-only

Acks are printed only after save_entity has returned: an acked entity is an acknowledged one.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import random
import subprocess
import sys
import threading
from pathlib import Path

from pipeline_recorder import LivePipelineRecorder, StorageError, load_recorder

SETTINGS = ("stillepost", "eco", "kids")


def ack(out: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()


def hold(base: str, run_id: str) -> None:
    rec = LivePipelineRecorder(run_id, *SETTINGS, base_path=base)
    rec.save_entity("input", "held")
    ack({"ready": os.getpid()})
    line = sys.stdin.readline()
    if line.strip() == "complete":
        rec.mark_complete()
        ack({"done": True})


def append(base: str, run_id: str, entity_type: str, text: str) -> None:
    rec = load_recorder(run_id, base_path=base)
    assert rec is not None
    ack({"filename": rec.save_entity(entity_type, text)})


def torture(base: str, run_id: str, seed: str) -> None:
    rng = random.Random(seed)
    rec = LivePipelineRecorder(run_id, *SETTINGS, base_path=base)
    counter = 0
    while True:
        counter += 1
        kind = rng.random()
        if kind < 0.1:
            rec.set_state(rng.randrange(5), f"step-{seed}-{counter}")
            continue
        if kind < 0.5:
            content: object = f"{seed}-{counter} " + "text " * rng.randrange(2000)
            data = content.encode()  # type: ignore[attr-defined]
        elif kind < 0.8:
            content = data = os.urandom(rng.randrange(1, 256 * 1024))
        else:
            content = {"seed": seed, "n": counter, "pad": "x" * rng.randrange(5000)}
            data = json.dumps(content, ensure_ascii=False, indent=2).encode()
        filename = rec.save_entity(rng.choice(["input", "translation", "output_image", "safety"]), content)
        ack({"run_id": run_id, "filename": filename, "sha256": hashlib.sha256(data).hexdigest()})


def concurrent(base: str, run_id: str, tag: str, threads: int, count: int) -> None:
    rec = LivePipelineRecorder(run_id, *SETTINGS, base_path=base)
    ack({"ready": tag})
    if sys.stdin.readline().strip() != "go":
        return
    lock = threading.Lock()
    acks: list[dict[str, object]] = []

    def work(thread: int) -> None:
        for i in range(count):
            text = f"{tag}/{thread}/{i}"
            filename = rec.save_entity("translation", text)
            with lock:
                acks.append({"filename": filename, "text": text})

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    for a in acks:
        ack(a)


def reader(path: str) -> None:
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
    reads = invalid = 0
    revisions: set[int] = set()
    errors: list[str] = []
    last_revision = last_count = 0
    ack({"ready": True})
    while not stop.is_set():
        with open(path, "rb") as f:
            data = f.read()
        reads += 1
        try:
            doc = json.loads(data)
        except ValueError as exc:
            invalid += 1
            errors.append(f"{exc}: {data[:80]!r}...{data[-80:]!r}")
            continue
        revisions.add(doc["revision"])
        if doc["revision"] < last_revision or len(doc["entities"]) < last_count:
            errors.append(f"went back: revision {doc['revision']} after {last_revision}")
        last_revision, last_count = doc["revision"], len(doc["entities"])
    ack({"reads": reads, "invalid": invalid, "revisions": len(revisions), "errors": errors[:3]})


def diskfull(mountpoint: str) -> None:
    """Inside a private mount namespace: a 1 MiB tmpfs that fills up, then turns read-only."""
    mount = Path(mountpoint)
    mount.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], check=True)
    report: dict[str, object] = {}
    rec = LivePipelineRecorder("full-run", *SETTINGS, base_path=mount)
    acked = [rec.save_entity("input", "before the disk filled")]
    folder = rec.run_folder
    # Fill the disk with a filler file, leaving a little room, then save until the disk refuses.
    fd = os.open(mount / "filler", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        while True:
            os.write(fd, b"\1" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    os.truncate(mount / "filler", os.path.getsize(mount / "filler") - 64 * 1024)
    failure: StorageError | None = None
    for i in range(200):
        try:
            acked.append(rec.save_entity("output_image", os.urandom(16 * 1024 + i)))
        except StorageError as exc:
            failure = exc
            break
    assert failure is not None, "the disk never filled"
    report["full_errno"] = failure.errno
    report["full_message"] = str(failure)
    report["full_is_oserror"] = isinstance(failure, OSError)
    report["acked_before_full"] = acked
    doc = json.loads((folder / "metadata.json").read_bytes())
    report["listed_after_full"] = [e["filename"] for e in doc["entities"]]
    report["temp_files_after_full"] = [n for n in os.listdir(folder) if n.startswith(".tmp-")]
    report["files_after_full"] = sorted(n for n in os.listdir(folder) if not n.startswith("."))
    # Fill the last free page too: an empty entity needs no data page, so now it is metadata.json's temp file
    # that cannot be written -- after the entity's own file was made.
    fd = os.open(mount / "filler", os.O_WRONLY | os.O_APPEND)
    try:
        while True:
            os.write(fd, b"\1" * 512)
    except OSError:
        pass
    finally:
        os.close(fd)
    try:
        # A reader holds the document's previous version open, so this change cannot be made in place (that
        # needs no new room) and is written whole.
        with open(folder / ".metadata.spare", "rb"):
            rec.save_entity("translation", "")
        report["empty_errno"] = None
    except StorageError as exc:
        report["empty_errno"] = exc.errno
    doc = json.loads((folder / "metadata.json").read_bytes())
    report["listed_after_empty"] = [e["filename"] for e in doc["entities"]]
    report["files_after_empty"] = sorted(n for n in os.listdir(folder)
                                         if not n.startswith(".lock") and n != ".metadata.spare")
    # Make room again: the same recorder works on.
    os.unlink(mount / "filler")
    report["after_room"] = rec.save_entity("translation", "after making room")
    # Read-only store: a clear error, the run readable, then writable again.
    rec.close()  # a file open for writing (the lock) would keep the kernel from remounting read-only
    subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
    try:
        rec.save_entity("translation", "on a read-only store")
        report["ro_errno"] = None
    except StorageError as exc:
        report["ro_errno"] = exc.errno
        report["ro_message"] = str(exc)
    report["ro_status_entities"] = len(rec.get_status()["entities"])
    subprocess.run(["mount", "-o", "remount,rw", str(mount)], check=True)
    report["after_rw"] = rec.save_entity("translation", "writable again")
    doc = json.loads((folder / "metadata.json").read_bytes())
    report["final"] = [(e["filename"], e["size"], e["sha256"]) for e in doc["entities"]]
    report["final_ok"] = all(
        (folder / e["filename"]).stat().st_size == e["size"]
        and hashlib.sha256((folder / e["filename"]).read_bytes()).hexdigest() == e["sha256"]
        for e in doc["entities"]
    )
    report["errnos"] = {"ENOSPC": errno.ENOSPC, "EROFS": errno.EROFS}
    ack(report)


def main() -> None:
    command, *args = sys.argv[1:]
    if command == "hold":
        hold(*args)
    elif command == "append":
        append(*args)
    elif command == "torture":
        torture(*args)
    elif command == "concurrent":
        concurrent(args[0], args[1], args[2], int(args[3]), int(args[4]))
    elif command == "reader":
        reader(*args)
    elif command == "diskfull":
        diskfull(*args)
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main()
