"""Benchmark: listing and filtering 100,000 runs through RunIndex, against baselines measured in the same run.

    .venv/bin/python bench/listing.py                  # 100,000 runs in a temp dir, removed afterwards
    .venv/bin/python bench/listing.py --runs 20000 --store /tmp/listing-store --keep   # reuse between runs

The runs are written directly as folders whose metadata.json is built by ``runformat`` (the real document), by a
child process, so that this process's memory shows only what the index costs. Measured here:

- cold build: ``RunIndex.refresh()`` with no index file, vs reading and parsing every metadata.json (no index);
- warm queries (median, p95 of ``--repeat`` calls, each with its freshness refresh) vs the same SQL on a plain
  in-memory SQLite table without any freshness check, and vs reading one metadata.json;
- the first query after a new run folder appears (the runs dir changed: names are rescanned);
- RSS of this process before the index, after the cold build, after all queries, and its peak.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline_recorder import RunStore, runformat
from pipeline_recorder.document import MetadataDocument
from pipeline_recorder.index import INDEX_DIRNAME, RunIndex, timestamp_us
from pipeline_recorder.liveness import current_owner
from pipeline_recorder.naming import METADATA_FILENAME

CONFIGS = [f"config-{n}" for n in range(8)]
USERS = 1000
STATUS_WEIGHTS = {"completed": 80, "failed": 8, "blocked": 5, "cancelled": 2}
START = datetime(2025, 1, 1, tzinfo=UTC)
MARKER = ".bench-listing.json"


# -- creating the store (in a child process) ----------------------------------------------------------------------


def create_store(runs_dir: Path, runs: int, running: int, interrupted: int, live_owner: dict[str, Any]) -> None:
    """Write ``runs`` run folders: a few running (live owner), a few interrupted (dead owner), the rest finished."""
    rng = random.Random(7)
    dead_owner = {**live_owner, "pid": 2**22 + 4321, "start_ticks": 1}
    runs_dir.mkdir(parents=True, exist_ok=True)
    statuses, weights = list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values())
    for n in range(runs):
        run_id = f"{rng.getrandbits(128):032x}"
        moment = START + timedelta(seconds=rng.randrange(365 * 86400), microseconds=rng.randrange(10**6))
        status = (runformat.RUNNING if n < running + interrupted
                  else rng.choices(statuses, weights)[0])
        header = runformat.new_header(run_id=run_id, config_name=rng.choice(CONFIGS), execution_mode="eco",
                                      safety_level="kids", user_id=f"user-{rng.randrange(USERS)}",
                                      expected_outputs=["input", "translation", "safety", "interception"],
                                      owner=dead_owner if running <= n < running + interrupted else live_owner)
        stamp = moment.isoformat()
        header.update(timestamp=stamp, updated_at=stamp, status=status,
                      finished_at=stamp if status in runformat.TERMINAL_STATUSES else None)
        entity = {"sequence": 1, "type": "input", "filename": "01_input.txt", "timestamp": stamp, "metadata": {},
                  "size": 5, "sha256": "185f8db32271fe25f561a6fc938b2e264306ec304eda518007d1764826381969",
                  "mime_type": "text/plain; charset=utf-8", "revision": 2}
        header["completed_outputs"] = ["input"]
        header["current_state"]["progress"] = "1/4"
        folder = runs_dir / run_id
        folder.mkdir()
        (folder / "01_input.txt").write_bytes(b"Hallo")
        # Plain writes: the benchmark needs the format, not the durability of the recorder's writes.
        (folder / METADATA_FILENAME).write_bytes(MetadataDocument(header, [entity]).to_bytes())


# -- measuring ------------------------------------------------------------------------------------------------------


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(call: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(median, p95) in milliseconds."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter_ns()
        call()
        samples.append((time.perf_counter_ns() - start) / 1e6)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.95))]


def read_all(store: RunStore) -> int:
    """The no-index way to list: read and parse every metadata.json."""
    count = 0
    for run_id in store.run_ids():
        try:
            store.read_metadata(run_id)
            count += 1
        except Exception:
            pass
    return count


def plain_table(index_db: Path, path: Path) -> sqlite3.Connection:
    """The same rows and indexes in a plain SQLite file: what the query costs with no freshness check at all."""
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path)
    conn.execute("ATTACH DATABASE ? AS idx", (f"file:{index_db}?mode=ro",))
    conn.execute("CREATE TABLE runs AS SELECT * FROM idx.runs")
    conn.execute("DETACH DATABASE idx")
    for name, columns in (("o", "ts_us, run_id"), ("c", "config_name, ts_us, run_id"),
                          ("u", "user_id, ts_us, run_id"), ("s", "status, ts_us, run_id")):
        conn.execute(f"CREATE INDEX {name} ON runs ({columns})")
    conn.execute("ANALYZE")
    conn.commit()
    return conn


def plain_query(conn: sqlite3.Connection, filters: dict[str, Any]) -> list[Any]:
    where, params = [], []
    for key in ("config_name", "user_id", "status"):
        if key in filters:
            where.append(f"{key} = ?")
            params.append(filters[key])
    if "since" in filters:
        where.append("ts_us >= ?")
        params.append(timestamp_us(filters["since"]))
    if "until" in filters:
        where.append("ts_us < ?")
        params.append(timestamp_us(filters["until"]))
    sql = "SELECT ts_us, run_id, status, summary FROM runs"
    if where:
        sql += " WHERE " + " AND ".join(where)
    rows = conn.execute(sql + " ORDER BY ts_us DESC, run_id DESC LIMIT 51", params).fetchall()
    return [json.loads(row[3]) for row in rows[:50]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--running", type=int, default=50, help="runs still running (owner: this process)")
    parser.add_argument("--interrupted", type=int, default=50, help="runs whose owner died")
    parser.add_argument("--repeat", type=int, default=200, help="calls per measured query")
    parser.add_argument("--store", type=Path, help="base path to create or reuse (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the store for the next run")
    parser.add_argument("--create", help=argparse.SUPPRESS)  # internal: the child process that writes the runs
    args = parser.parse_args()

    if args.create:
        create_store(Path(args.store), args.runs, args.running, args.interrupted, json.loads(args.create))
        return

    base = args.store or Path(tempfile.mkdtemp(prefix="bench-listing-"))
    store = RunStore(base)
    marker = base / MARKER
    wanted = {"runs": args.runs, "running": args.running, "interrupted": args.interrupted}
    try:
        if not marker.is_file() or json.loads(marker.read_text()) != wanted:
            shutil.rmtree(store.runs_dir, ignore_errors=True)
            started = time.perf_counter()
            subprocess.run([sys.executable, __file__, "--store", str(store.runs_dir), "--runs", str(args.runs),
                            "--running", str(args.running), "--interrupted", str(args.interrupted),
                            "--create", json.dumps(current_owner())], check=True)
            marker.write_text(json.dumps(wanted))
            print(f"created {args.runs} run folders in {time.perf_counter() - started:.1f} s")
        measure(store, args)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


def measure(store: RunStore, args: argparse.Namespace) -> None:
    shutil.rmtree(store.runs_dir / INDEX_DIRNAME, ignore_errors=True)
    for leftover in store.runs_dir.glob("fresh-*"):  # of an earlier run with --keep
        shutil.rmtree(leftover)
    started = time.perf_counter()
    read_all(store)  # both the build and the no-index read below then find the files in the page cache
    first_read = time.perf_counter() - started
    rss_before = rss_mb()

    index = RunIndex(store)
    started = time.perf_counter()
    index.refresh()
    cold = time.perf_counter() - started
    rss_built = rss_mb()
    listed = index.count()

    newest, _ = index.query(limit=1)
    sample = index.query(limit=200)[0]
    user = sample[0]["user_id"]
    latest = datetime.fromisoformat(newest[0]["timestamp"])
    cursor = None
    for _ in range(20):  # a deep page: 1,000 runs down
        _, cursor = index.query(cursor=cursor)
    cases: list[tuple[str, dict[str, Any]]] = [
        ("newest 50", {}),
        ("config_name (1 of 8)", {"config_name": CONFIGS[3]}),
        ("user_id (1 of 1000)", {"user_id": user}),
        ("status=failed (8%)", {"status": "failed"}),
        ("status=running", {"status": "running"}),
        ("status=interrupted", {"status": "interrupted"}),
        ("last 30 days", {"since": (latest - timedelta(days=30)).isoformat()}),
        ("config + status", {"config_name": CONFIGS[5], "status": "completed"}),
        ("config + user (rare)", {"config_name": CONFIGS[1], "user_id": user}),
    ]
    rows = []
    for name, filters in cases:
        med, p95 = timed(lambda f=filters: index.query(**f), args.repeat)  # type: ignore[misc]
        rows.append((name, med, p95, float("nan")))
    med, p95 = timed(lambda: index.query(cursor=cursor), args.repeat)
    rows.append(("page 21 (cursor)", med, p95, float("nan")))

    # A new run folder: with inotify the next query reads just that run; without (other systems, or inotify
    # unavailable) the runs dir's mtime changed and the names are rescanned.
    fresh, rescans = [], []
    mtime_index = RunIndex(store)
    mtime_index._watching = False
    mtime_index.refresh()
    for n in range(10):
        header = runformat.new_header(run_id=f"fresh-{n}", config_name="fresh", execution_mode="eco",
                                      safety_level="kids", user_id="u", expected_outputs=["input"],
                                      owner=current_owner())
        folder = store.runs_dir / f"fresh-{n}"
        folder.mkdir()
        (folder / METADATA_FILENAME).write_bytes(MetadataDocument(header, []).to_bytes())
        started_ns = time.perf_counter_ns()
        page, _ = index.query()
        fresh.append((time.perf_counter_ns() - started_ns) / 1e6)
        assert page[0]["run_id"] == f"fresh-{n}"
        started_ns = time.perf_counter_ns()
        page, _ = mtime_index.query()
        rescans.append((time.perf_counter_ns() - started_ns) / 1e6)
        assert page[0]["run_id"] == f"fresh-{n}"
    mtime_index.close()
    rss_after, peak = rss_mb(), peak_rss_mb()
    for n in range(10):
        shutil.rmtree(store.runs_dir / f"fresh-{n}")

    plain = plain_table(index.db_path, store.base_path / "plain.sqlite3")
    for position, (_, filters) in enumerate(cases):
        base, _ = timed(lambda f=filters: plain_query(plain, f), args.repeat)  # type: ignore[misc]
        rows[position] = (*rows[position][:3], base)
    plain.close()
    one_file, _ = timed(lambda: store.read_metadata(sample[0]["run_id"]), args.repeat)

    started = time.perf_counter()
    scanned = read_all(store)
    naive = time.perf_counter() - started

    print(f"\nRunIndex over {listed} runs ({scanned} readable folders), {args.repeat} calls per query")
    print(f"cold build (no index file): {cold:.2f} s; reading every metadata.json without an index: {naive:.2f} s "
          f"(ratio {cold / naive:.2f}x; the first such read, with a colder page cache: {first_read:.2f} s)")
    print(f"baseline: read + parse one metadata.json: {one_file:.3f} ms\n")
    print("| query | median ms | p95 ms | plain SQLite ms | x plain | x one metadata.json |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, med, p95, base in rows:
        plain_text = "-" if base != base else f"{base:.3f}"
        ratio = "-" if base != base else f"{med / base:.1f}"
        print(f"| {name} | {med:.3f} | {p95:.3f} | {plain_text} | {ratio} | {med / one_file:.1f} |")
    print(f"| first query after a new run folder (inotify) | {statistics.median(fresh):.3f} | {max(fresh):.3f} "
          f"| - | - | {statistics.median(fresh) / one_file:.1f} |")
    print(f"| same, without inotify (names rescanned) | {statistics.median(rescans):.3f} | {max(rescans):.3f} "
          f"| - | - | {statistics.median(rescans) / one_file:.1f} |")
    print(f"\nRSS: {rss_before:.1f} MB before the index, {rss_built:.1f} MB after the cold build, "
          f"{rss_after:.1f} MB after all queries (growth {rss_after - rss_before:+.1f} MB; "
          f"peak {peak:.1f} MB)")
    index.close()


if __name__ == "__main__":
    main()
