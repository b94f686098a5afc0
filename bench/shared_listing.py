"""Benchmark: listing the newest 50 of 100,000 runs, and every filter, from the shared store's database index.

The runs' index rows are loaded with COPY (what 100,000 recorded runs leave in the ``runs`` table; their objects
play no part in a listing), a few hundred of them running with live or lapsed leases. Then each question is asked
repeatedly through ``SharedStore.list_runs`` -- checks, SQL, rows to summaries -- and its median printed.

    .venv/bin/python bench/shared_listing.py              # 100,000 runs
    .venv/bin/python bench/shared_listing.py --runs 20000

Target: every median < 20 ms. The servers are started here (loopback) and stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests")]

from pipeline_recorder.index import timestamp_us  # noqa: E402
from pipeline_recorder.stores.shared import SharedStore  # noqa: E402
from shared_servers import running_moto, running_postgres  # noqa: E402

CONFIGS = ["stillepost", "haiku", "klangbild", "bildbeschreibung"]
STATUSES = ["completed"] * 90 + ["failed"] * 5 + ["blocked"] * 3 + ["cancelled"] + ["running"]


def load(store: SharedStore, count: int) -> datetime:
    rng = random.Random(5)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    with store.db.connection("load runs") as conn:
        with conn.cursor() as cur, cur.copy(
                "COPY runs (run_id, ts_us, config_name, execution_mode, safety_level, user_id, status, revision, "
                "entity_count, header, summary, lease_expires_at) FROM STDIN") as copy:
            for n in range(count):
                when = (start + timedelta(seconds=n * 30)).isoformat()
                run_id, config, user = str(uuid.UUID(int=rng.getrandbits(128))), rng.choice(CONFIGS), \
                    f"user{rng.randrange(200)}"
                status = rng.choice(STATUSES)
                lease = datetime.now(UTC) + timedelta(hours=1) if status == "running" and n % 2 else None
                summary = {"run_id": run_id, "config_name": config, "execution_mode": "eco", "safety_level": "kids",
                           "user_id": user, "status": status, "timestamp": when, "updated_at": when,
                           "finished_at": None if status == "running" else when,
                           "current_state": {"stage": 4, "step": "done", "progress": "6/6"}, "progress": "6/6",
                           "entity_count": 6}
                copy.write_row((run_id, timestamp_us(when), config, "eco", "kids", user, status, 7, 6,
                                json.dumps({"run_id": run_id}), json.dumps(summary), lease))
        conn.execute("ANALYZE runs")
    return start + timedelta(seconds=count * 30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    with running_postgres() as postgres, running_moto() as s3:
        os.environ.update(s3.env())
        with SharedStore.open(f"s3://{s3.new_bucket()}/bench", postgres.new_database()) as store:
            started = time.perf_counter()
            end = load(store, args.runs)
            print(f"loaded {args.runs:,} runs in {time.perf_counter() - started:.1f} s")
            middle = (end - timedelta(seconds=args.runs * 15)).isoformat()
            _, second_page = store.run_index().query(limit=50)
            questions = {
                "newest 50": {},
                "page 2 (cursor)": {"cursor": second_page},
                "config_name": {"config_name": "haiku"},
                "user_id": {"user_id": "user7"},
                "status=completed": {"status": "completed"},
                "status=failed": {"status": "failed"},
                "status=cancelled": {"status": "cancelled"},
                "status=running (live lease)": {"status": "running"},
                "status=interrupted (lapsed)": {"status": "interrupted"},
                "since (middle)": {"since": middle},
                "until (middle)": {"until": middle},
                "user_id + status=failed": {"user_id": "user7", "status": "failed"},
            }
            worst = 0.0
            for name, filters in questions.items():
                times = []
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    page, _ = store.run_index().query(limit=50, **filters)
                    times.append(time.perf_counter() - t0)
                median = statistics.median(times) * 1000
                worst = max(worst, median)
                print(f"{name:32s} median {median:6.2f} ms  ({len(page)} runs)")
            print(f"slowest median: {worst:.2f} ms (target < 20 ms) over {args.runs:,} runs")


if __name__ == "__main__":
    main()
