"""Processes the shared-store tests start (the store URLs come as arguments, the AWS_* variables from the test):

    python shared_workers.py concurrent STORE DATABASE RUN_ID TAG THREADS COUNT   "ready", wait for "go", save
    python shared_workers.py torture STORE DATABASE RUN_ID SEED    save forever; one JSON ack line after each save
    python shared_workers.py hold STORE DATABASE RUN_ID LEASE      create the run, save one entity, "ready", wait
    python shared_workers.py stage STORE DATABASE RUN_ID           create the run, stage a large entity (uploaded
                                                                   to a .staging-* object), print its key, wait

Acks are printed only after save_entity has returned: an acked entity is an acknowledged one.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import sys
import threading

from pipeline_recorder import LivePipelineRecorder
from pipeline_recorder.stores.shared import SharedStore
from pipeline_recorder.stores.shared.objects import PART_SIZE

SETTINGS = ("stillepost", "eco", "kids")


def ack(out: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()


def concurrent(store: SharedStore, run_id: str, tag: str, threads: int, count: int) -> None:
    rec = LivePipelineRecorder(run_id, *SETTINGS, base_path=store)
    ack({"ready": tag})
    if sys.stdin.readline().strip() != "go":
        return
    lock = threading.Lock()

    def work(thread: int) -> None:
        for n in range(count):
            text = f"{tag}-{thread}-{n}"
            filename = rec.save_entity("input", text)
            with lock:
                ack({"filename": filename, "text": text})

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    ack({"done": tag})


def torture(store: SharedStore, run_id: str, seed: str) -> None:
    rng = random.Random(seed)
    rec = LivePipelineRecorder(run_id, *SETTINGS, base_path=store)
    counter = 0
    while True:
        counter += 1
        if rng.random() < 0.1:
            rec.set_state(rng.randrange(5), f"step-{seed}-{counter}")
            continue
        data = os.urandom(rng.randrange(1, 64 * 1024)) if rng.random() < 0.5 else f"{seed}-{counter}".encode()
        content: object = data if data[:1] != b"" and rng.random() < 0.5 else data.hex()
        if isinstance(content, str):
            data = content.encode()
        filename = rec.save_entity(rng.choice(["input", "translation", "output_image"]), content)  # type: ignore[arg-type]
        ack({"filename": filename, "sha256": hashlib.sha256(data).hexdigest()})


def hold(store: SharedStore, run_id: str) -> None:
    rec = LivePipelineRecorder(run_id, *SETTINGS, base_path=store)
    rec.save_entity("input", "held")
    ack({"ready": os.getpid()})
    sys.stdin.readline()


def stage(store: SharedStore, run_id: str) -> None:
    """A writer between uploading a large entity and its commit, where the test kills it."""
    LivePipelineRecorder(run_id, *SETTINGS, base_path=store).save_entity("input", "staging")
    staged = store.stage_entity(run_id, io.BytesIO(os.urandom(PART_SIZE + 1)))
    ack({"staged": getattr(staged, "key", None)})
    sys.stdin.readline()


def main(argv: list[str]) -> None:
    command, store_url, database_url, run_id, *rest = argv
    lease = float(rest.pop()) if command == "hold" else 30.0
    store = SharedStore.open(store_url, database_url, lease_seconds=lease)
    if command == "concurrent":
        concurrent(store, run_id, rest[0], int(rest[1]), int(rest[2]))
    elif command == "torture":
        torture(store, run_id, rest[0])
    elif command == "hold":
        hold(store, run_id)
    elif command == "stage":
        stage(store, run_id)
    else:
        raise SystemExit(f"unknown command {command!r}")
    store.close()


if __name__ == "__main__":
    main(sys.argv[1:])
