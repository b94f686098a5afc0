"""Benchmark: how soon a change committed through one replica is seen by a follower on another.

Two processes' worth of store handles (two ``SharedStore`` objects, each with its own pool and its own LISTEN
connection, as two replicas have): a writer saves an entity through store A; a follower thread on store B waits
on its change hub and reads the run. The latency is from just before ``save_entity`` returns to the moment B's
follower holds the new document (NOTIFY delivery + one incremental read), per entity; p50/p99 printed.

    .venv/bin/python bench/shared_replicas.py             # 300 entities
    .venv/bin/python bench/shared_replicas.py --count 50

Target: p99 < 100 ms on loopback. The servers are started here (loopback) and stopped at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests")]

from pipeline_recorder.naming import new_run_id  # noqa: E402
from pipeline_recorder.stores.shared import SharedRecorder, SharedStore  # noqa: E402
from shared_servers import running_moto, running_postgres  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=300)
    args = parser.parse_args()
    with running_postgres() as postgres, running_moto() as s3:
        os.environ.update(s3.env())
        url, database = f"s3://{s3.new_bucket()}/bench", postgres.new_database()
        with SharedStore.open(url, database) as replica_a, SharedStore.open(url, database) as replica_b:
            run_id = new_run_id()
            rec = SharedRecorder(replica_a, run_id, "stillepost", "eco", "kids")
            hub = replica_b.changes
            hub.wait_ready()
            hub.watch(run_id)
            seen_at: dict[int, float] = {}
            done = threading.Event()

            def follow() -> None:
                revision = replica_b.read(run_id)["revision"]
                while not done.is_set():
                    if hub.wait(run_id, revision, 1.0):
                        doc = replica_b.read(run_id)
                        now = time.perf_counter()
                        for entity in doc["entities"]:
                            seen_at.setdefault(entity["sequence"], now)
                        revision = doc["revision"]

            follower = threading.Thread(target=follow)
            follower.start()
            committed: dict[int, float] = {}
            returned: dict[int, float] = {}
            for n in range(1, args.count + 1):
                start = time.perf_counter()
                rec.save_entity("input", f"entity {n}")
                committed[n] = start  # the commit happens inside the call: count from its start (conservative)
                returned[n] = time.perf_counter()
                deadline = time.monotonic() + 10
                while n not in seen_at and time.monotonic() < deadline:
                    time.sleep(0.0005)
            done.set()
            follower.join()
            hub.unwatch(run_id)
    latencies = sorted((seen_at[n] - committed[n]) * 1000 for n in committed if n in seen_at)
    missing = len(committed) - len(latencies)
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"replica A save_entity -> follower on replica B holds it: p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
          f"max {latencies[-1]:.2f} ms over {len(latencies)} entities ({missing} not seen)")
    after = sorted((seen_at[n] - returned[n]) * 1000 for n in returned if n in seen_at)
    saves = sorted((returned[n] - committed[n]) * 1000 for n in returned)
    print(f"  of which after save_entity returned: p50 {statistics.median(after):.2f} ms, "
          f"p99 {after[int(len(after) * 0.99)]:.2f} ms; the saves themselves: p50 {statistics.median(saves):.2f} ms, "
          f"p99 {saves[int(len(saves) * 0.99)]:.2f} ms")
    print("target: p99 < 100 ms")


if __name__ == "__main__":
    main()
