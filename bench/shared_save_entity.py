"""Benchmark: ``save_entity`` on the shared store against the floor of the same work on the same servers.

Floor (measured in the same run, against the same moto_server and PostgreSQL): PUT one small object, PUT one small
JSON object (the size of the run's metadata.json at that point), and one database transaction (BEGIN, an UPDATE
of one row, COMMIT) -- the least any recorder keeping entities in a bucket and coordinating in a database must do
per entity. Rounds alternate one floor sample and one save, so both see the same load.

    .venv/bin/python bench/shared_save_entity.py             # 300 rounds
    .venv/bin/python bench/shared_save_entity.py --rounds 50 # quicker

Target: median save_entity <= 1.5x the floor. The servers are started here (loopback) and stopped at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests")]

from pipeline_recorder import LivePipelineRecorder  # noqa: E402
from pipeline_recorder.naming import new_run_id  # noqa: E402
from pipeline_recorder.stores.shared import SharedStore  # noqa: E402
from shared_servers import running_moto, running_postgres  # noqa: E402

TEXT = "A small text entity: the translated prompt of one pipeline stage."
RUN_LENGTH = 20  # a new run every this many saves: the figure is that of short runs


def floor_once(store: SharedStore, n: int, json_size: int) -> float:
    key = f"floor/{n:06d}_input.txt"
    document = b'{"pad": "' + b"x" * max(0, json_size - 12) + b'"}\n'
    start = time.perf_counter()
    store.bucket.put(key, TEXT.encode())
    store.bucket.put("floor/metadata.json", document)
    with store.db.connection("floor") as conn, conn.transaction():
        conn.execute("UPDATE floor SET n = %s WHERE id = 1", (n,))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    with running_postgres() as postgres, running_moto() as s3:
        os.environ.update(s3.env())
        with SharedStore.open(f"s3://{s3.new_bucket()}/bench", postgres.new_database()) as store:
            with store.db.connection("floor table") as conn:
                conn.execute("CREATE TABLE floor (id int PRIMARY KEY, n int)")
                conn.execute("INSERT INTO floor VALUES (1, 0)")
            floors: list[float] = []
            saves: list[float] = []
            rec = None
            for n in range(args.rounds + 20):
                if n % RUN_LENGTH == 0:
                    if rec is not None:
                        rec.close()
                    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=store)
                assert rec is not None
                size = len(store.read_document_bytes(rec.run_id))
                floor = floor_once(store, n, size)
                start = time.perf_counter()
                rec.save_entity("input", TEXT)
                save = time.perf_counter() - start
                if n >= 20:  # warm-up: connections, caches
                    floors.append(floor)
                    saves.append(save)
    floor_ms, save_ms = statistics.median(floors) * 1000, statistics.median(saves) * 1000
    print(f"floor (PUT small object + PUT JSON + 1 transaction): median {floor_ms:.2f} ms over {len(floors)}")
    print(f"save_entity on the shared store (runs of {RUN_LENGTH}):  median {save_ms:.2f} ms")
    print(f"ratio save/floor: {save_ms / floor_ms:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
