"""Fault script: 200 random kill -9 of recording processes plus server restarts while SSE clients stream.

Victims: writer processes (tests/reliability/reliability_workers.py) killed inside a save, `pipeline-recorder run`
killed mid-pipeline, and `pipeline-recorder serve` killed (and started again on the same port) while it runs
pipelines and streams events. Afterwards it checks what tests/reliability/kill_storm.py lists: no acknowledged or
streamed entity lost, every SSE client saw each event once and an `end` matching the run's status, killed runs read
as `interrupted` (status API, `ls`, `show`), `verify` finds only the debris of unacknowledged saves, and `verify`
is clean after `verify --repair`.

    .venv/bin/python bench/faults_kill.py                       # 200 kills, 10 server restarts
    .venv/bin/python bench/faults_kill.py --kills 50 --restarts 3 --seed 7

Loopback only; the store is a temporary folder (kept with --keep). Exit code 0 when every promise held.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "reliability"), str(ROOT / "tests")]

from kill_storm import Storm  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=200, help="SIGKILLs of recording processes (default 200)")
    parser.add_argument("--restarts", type=int, default=10, help="server kill -9 + restart cycles (default 10)")
    parser.add_argument("--parallel", type=int, default=4, help="victims alive at once (default 4)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random, printed)")
    parser.add_argument("--keep", action="store_true", help="keep the store folder for inspection")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    folder = Path(tempfile.mkdtemp(prefix="faults_kill-"))
    base = folder / "store"
    base.mkdir()
    try:
        report = Storm(base, kills=args.kills, restarts=args.restarts, parallel=args.parallel, seed=seed).run(
            follow_seconds=120)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    summary = report.summary()
    width = max(len(key) for key in summary)
    print("| figure | value |\n|---|---|")
    for key, value in summary.items():
        print(f"| {key:<{width}} | {json.dumps(value) if isinstance(value, dict) else value} |")
    for problem in report.problems[:50]:
        print("PROBLEM:", problem)
    if args.keep:
        print(f"store kept in {base}")
    return 0 if not report.problems else 1


if __name__ == "__main__":
    sys.exit(main())
