"""Benchmark: what one ``save_entity`` costs, against the floor of the same durable work on the same disk.

Floor (measured in the same run, in the same folder): write one small file (create, write, fsync) plus atomically
replace one small JSON file (temp file, write, fsync, rename, fsync the folder) -- the least any recorder must do
to make one small entity and the metadata that lists it durable.

Then per-save cost as a run grows: the median ``save_entity`` of a small text entity at the 10th, 100th, 1,000th
and 10,000th entity of a run. Runs are first grown (untimed) to just before each point; then every round times one
floor sample per short-run save, and one save in each long run, so all figures see the same disk and machine load.

    .venv/bin/python bench/save_entity.py                 # full: floor, small runs, growth up to 10,000
    .venv/bin/python bench/save_entity.py --max 1000      # quicker: growth up to 1,000
    .venv/bin/python bench/save_entity.py --profile 1000  # cProfile of saves 1,000..1,100 of one run

Targets: median save_entity <= 1.25x the floor, and the 10,000th save <= 2x the 10th (issue 10; earlier: 1.5x the
floor, the 1,000th <= 2x the 10th).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from pipeline_recorder import LivePipelineRecorder, new_run_id

TEXT = "A small text entity: the translated prompt of one pipeline stage."


def floor_once(folder: Path, index: int) -> float:
    """One small entity file + one atomic, durable replace of a small JSON file."""
    start = time.perf_counter()
    fd = os.open(folder / f"{index:05d}_input.txt", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, TEXT.encode())
    os.fsync(fd)
    os.close(fd)
    tmp = folder / f".tmp-{index}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, json.dumps({"revision": index, "entities": [index]}).encode())
    os.fsync(fd)
    os.close(fd)
    os.replace(tmp, folder / "metadata.json")
    dfd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    os.fsync(dfd)
    os.close(dfd)
    return time.perf_counter() - start


def timed_saves(rec: LivePipelineRecorder, count: int) -> list[float]:
    times = []
    for _ in range(count):
        start = time.perf_counter()
        rec.save_entity("translation", TEXT)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=Path.cwd(), help="folder on the disk to measure (default: cwd)")
    parser.add_argument("--max", type=int, default=10_000, help="longest run measured (default 10000)")
    parser.add_argument("--rounds", type=int, default=60, help="measurement rounds (default 60)")
    parser.add_argument("--profile", type=int, default=0, help="profile saves N..N+100 of one run instead")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix=".bench-save-entity-", dir=args.dir))
    try:
        if args.profile:
            profile(work, args.profile)
            return
        run(work, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def profile(work: Path, start: int) -> None:
    rec = LivePipelineRecorder(new_run_id(), "bench", "eco", "kids", base_path=work)
    timed_saves(rec, start)
    profiler = cProfile.Profile()
    profiler.enable()
    timed_saves(rec, 100)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(18)


def new_run(work: Path, prefill: int) -> LivePipelineRecorder:
    rec = LivePipelineRecorder(new_run_id(), "bench", "eco", "kids", base_path=work)
    timed_saves(rec, prefill)
    return rec


def run(work: Path, args: argparse.Namespace) -> None:
    """Interleave every measurement round by round, so that all of them see the same disk and machine load."""
    floor_dir = work / "floor"
    floor_dir.mkdir()
    points = [p for p in (10, 100, 1_000, 10_000) if p <= args.max]
    long_runs = {p: new_run(work, p - 1) for p in points if p > 10}  # untimed: grown to just before the point
    floor: list[float] = []
    small: list[float] = []
    at: dict[int, list[float]] = {p: [] for p in points}
    for round_ in range(args.rounds):
        fresh = LivePipelineRecorder(new_run_id(), "bench", "eco", "kids", base_path=work)
        for i in range(10):  # a short run, as in a real pipeline: saves 1..10, each next to one floor sample
            floor.append(floor_once(floor_dir, round_ * 10 + i))
            small.extend(timed_saves(fresh, 1))
        at[10].append(small[-1])
        for p, rec in long_runs.items():  # one save each at ~the p-th entity (drifts by `rounds`)
            at[p].extend(timed_saves(rec, 1))

    floor_ms = statistics.median(floor) * 1000
    small_ms = statistics.median(small) * 1000
    print(f"disk: {args.dir}  python {sys.version.split()[0]}  rounds: {args.rounds}")
    print(f"{'measure':<44}{'median ms':>11}{'ratio':>8}")
    print(f"{'floor (small file + atomic JSON replace)':<44}{floor_ms:>11.3f}{1.0:>8.2f}")
    print(f"{'save_entity, runs of 10 entities':<44}{small_ms:>11.3f}{small_ms / floor_ms:>8.2f}"
          "  vs floor (target <= 1.25)")
    tenth = statistics.median(at[10]) * 1000
    for p in points:
        ms = statistics.median(at[p]) * 1000
        note = "  vs 10th (target <= 2.0)" if p in (1_000, 10_000) else "  vs 10th" if p > 10 else ""
        print(f"{f'save_entity, entity #{p:,} of a run':<44}{ms:>11.3f}{ms / tenth:>8.2f}{note}")
    for p, rec in long_runs.items():
        size = (rec.run_folder / "metadata.json").stat().st_size
        print(f"metadata.json of the #{p:,} run: {size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
