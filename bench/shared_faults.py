"""Fault script: a kill -9 storm on the shared store -- writers and a serving replica killed at random moments.

Three writer processes record into one run through their own store objects, each printing an ack after every
``save_entity`` returned; a ``serve`` replica answers ``/status`` meanwhile. Every round kills one writer (and
every fifth round the replica) with SIGKILL at a random moment and starts a new one. At the end: the bucket's
metadata.json is parsed with the folder store's reader and checked (format, every listed object exists with its
size and hash), every acknowledged entity is listed with the hash its writer saved, sequences are unique, and
the database's document is the bucket's.

    .venv/bin/python bench/shared_faults.py              # 60 kills
    .venv/bin/python bench/shared_faults.py --kills 20

Prints ``corrupt`` and ``lost`` counts (both must be 0). Servers are started here on loopback and stopped by pid.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests"), str(HERE.parent / "tests" / "shared")]

from shared_helpers import check_bucket_run, start_worker  # noqa: E402

from pipeline_recorder.naming import new_run_id  # noqa: E402
from pipeline_recorder.stores.shared import SharedStore  # noqa: E402
from shared_servers import running_moto, running_postgres  # noqa: E402
from support import free_port, wait_until  # noqa: E402


class Writer:
    def __init__(self, url: str, database: str, run_id: str, seed: str) -> None:
        self.proc = start_worker("torture", url, database, run_id, seed)
        self.acks: list[dict[str, str]] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                self.acks.append(json.loads(line))

    def kill(self) -> list[dict[str, str]]:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self._thread.join(10)
        return self.acks


def start_replica(url: str, database: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "pipeline_recorder.cli", "serve", "--port", str(port), "--store",
                             url, "--database", database], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, f"http://127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=60)
    args = parser.parse_args()
    rng = random.Random(60)
    with running_postgres() as postgres, running_moto() as s3:
        os.environ.update(s3.env())
        url, database = f"s3://{s3.new_bucket()}/storm", postgres.new_database()
        os.environ["PIPELINE_RECORDER_DATABASE_URL"] = database
        run_id = new_run_id()
        writers = [Writer(url, database, run_id, f"w{n}") for n in range(3)]
        replica, base = start_replica(url, database)
        acks: list[dict[str, str]] = []
        kills = replica_kills = 0
        revisions: list[int] = []
        while kills < args.kills:
            wait_until(lambda: all(len(w.acks) > 0 for w in writers), 60, "every writer to acknowledge a save")
            threading.Event().wait(rng.uniform(0.01, 0.3))  # a random moment, often mid-save
            victim = rng.randrange(len(writers))
            acks.extend(writers[victim].kill())
            writers[victim] = Writer(url, database, run_id, f"k{kills}")
            kills += 1
            if kills % 5 == 0:
                os.kill(replica.pid, signal.SIGKILL)
                replica.wait()
                replica, base = start_replica(url, database)
                replica_kills += 1
            with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):  # the replica may still be starting
                revisions.append(int(httpx.get(f"{base}/api/pipeline/{run_id}/status", timeout=5).json()["revision"]))
        for writer in writers:
            acks.extend(writer.kill())
        os.kill(replica.pid, signal.SIGKILL)
        replica.wait()
        with SharedStore.open(url, database) as store, tempfile.TemporaryDirectory() as tmp:
            corrupt = 0
            try:
                doc = check_bucket_run(store, run_id, Path(tmp))
            except (AssertionError, Exception) as exc:
                print(f"corrupt: {exc}")
                corrupt, doc = 1, {"entities": []}
            listed = {e["filename"]: e["sha256"] for e in store.read_metadata(run_id)["entities"]}
            lost = [a for a in acks if listed.get(a["filename"]) != a["sha256"]]
            sequences = [e["sequence"] for e in doc["entities"]]
            duplicates = len(sequences) - len(set(sequences))
            # The bucket lists one more, unacknowledged entity when the last kill fell between a writer's put of
            # metadata.json and its commit (the next writer would overtake it); the database never lists more.
            ahead = len(json.loads(store.bucket.get(store.runs.key(run_id)))["entities"]) - len(listed)
    backwards = sum(1 for a, b in itertools.pairwise(revisions) if b < a)
    print(f"{kills} writer kills and {replica_kills} replica kills; {len(acks)} acknowledged entities, "
          f"{len(sequences)} listed")
    print(f"corrupt: {corrupt}, lost acknowledged: {len(lost)}, duplicate sequences: {duplicates}, "
          f"status revisions going backwards across replicas: {backwards}; the bucket lists {ahead} unacknowledged "
          "entities beyond the database")


if __name__ == "__main__":
    main()
