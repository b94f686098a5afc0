"""Benchmark: what one ``save_entity`` costs, against the floor of the same durable work on the same disk.

Floor (measured in the same run, in the same folder): write one small file (create, write, fsync) plus atomically
replace one small JSON file (temp file, write, fsync, rename, fsync the folder) -- the least any recorder must do
to make one small entity and the metadata that lists it durable.

Then per-save cost as a run grows: the median ``save_entity`` of a small text entity around the 10th, 100th,
1,000th and 10,000th entity of one run (a window of saves around each point, pooled over repeated runs).

    .venv/bin/python bench/save_entity.py                 # full: floor, small runs, growth up to 10,000
    .venv/bin/python bench/save_entity.py --max 1000      # quicker: growth up to 1,000
    .venv/bin/python bench/save_entity.py --profile 1000  # cProfile of saves 1,000..1,100 of one run

Targets: median save_entity <= 1.5x the floor (issue 2); the 1,000th save <= 2x the 10th (issue 7).
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


def window(times: list[float], point: int, half: int = 5) -> list[float]:
    """Durations of saves point-half .. point+half (1-based save numbers), as far as they exist."""
    return times[max(0, point - 1 - half) : point + half]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=Path.cwd(), help="folder on the disk to measure (default: cwd)")
    parser.add_argument("--max", type=int, default=10_000, help="longest run measured (default 10000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs up to 1,000 pooled per point (default 3)")
    parser.add_argument("--samples", type=int, default=300, help="floor and small-run samples (default 300)")
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


def run(work: Path, args: argparse.Namespace) -> None:
    floor_dir = work / "floor"
    floor_dir.mkdir()
    floor: list[float] = []
    small: list[float] = []
    # Interleave floor and recorder samples so both see the same disk weather.
    rec: LivePipelineRecorder | None = None
    for index in range(args.samples):
        floor.append(floor_once(floor_dir, index))
        if index % 10 == 0:  # a fresh run every 10 saves: runs stay short, as in a real pipeline
            rec = LivePipelineRecorder(new_run_id(), "bench", "eco", "kids", base_path=work)
        assert rec is not None
        small.extend(timed_saves(rec, 1))
    floor_ms = statistics.median(floor) * 1000
    small_ms = statistics.median(small) * 1000

    points = [p for p in (10, 100, 1_000, 10_000) if p <= args.max]
    pooled: dict[int, list[float]] = {p: [] for p in points}
    for _ in range(args.repeat):
        rec = LivePipelineRecorder(new_run_id(), "bench", "eco", "kids", base_path=work)
        times = timed_saves(rec, min(args.max, 1_000) + 5)
        for p in points:
            if p <= 1_000:
                pooled[p].extend(window(times, p))
    if args.max >= 10_000:
        rec = LivePipelineRecorder(new_run_id(), "bench", "eco", "kids", base_path=work)
        times = timed_saves(rec, 10_005)
        pooled[10_000].extend(window(times, 10_000, half=10))
        size = (rec.run_folder / "metadata.json").stat().st_size

    print(f"disk: {args.dir}  python {sys.version.split()[0]}")
    print(f"{'measure':<40}{'median ms':>12}{'ratio':>10}")
    print(f"{'floor (small file + atomic JSON replace)':<40}{floor_ms:>12.3f}{1.0:>10.2f}")
    print(f"{'save_entity, runs of <= 10 entities':<40}{small_ms:>12.3f}{small_ms / floor_ms:>10.2f}  (target <= 1.5)")
    tenth = statistics.median(pooled[points[0]]) * 1000 if points else 0.0
    for p in points:
        ms = statistics.median(pooled[p]) * 1000
        note = "  (target <= 2.0 vs 10th)" if p == 1_000 else ""
        print(f"{f'save_entity, entity #{p:,} of a run':<40}{ms:>12.3f}{ms / tenth:>10.2f}{note}")
    if args.max >= 10_000:
        print(f"metadata.json with 10,005 entities: {size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
