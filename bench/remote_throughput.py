"""Benchmark: entities per second that 1, 2, 4 and 8 remote worker processes store through one server.

One real server (``pipeline-recorder serve``, its own process) on loopback; each worker is a separate process with
a RemoteRecorder that saves ``--count`` small text entities into its own run. Printed per number of workers: the
total entities per second (from the first save of any worker to the last save of any: process start and imports
excluded) and the speed-up over one worker, measured in the same run. The machine's cores bound the speed-up:
server and workers share them.

    .venv/bin/python bench/remote_throughput.py             # 200 entities per worker
    .venv/bin/python bench/remote_throughput.py --count 50
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "remote"))

TEXT = "A small text entity: the translated prompt of one pipeline stage."


def child(url: str, count: int, spool: str) -> None:
    from pipeline_recorder import RemoteRecorder, new_run_id

    rec = RemoteRecorder(url, new_run_id(), "bench", "eco", "kids", spool_dir=spool, heartbeat=False)
    start = time.time()
    for _ in range(count):
        rec.save_entity("translation", TEXT)
    print(start, time.time(), flush=True)
    rec.mark_complete()
    rec.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--child", nargs=3, metavar=("URL", "COUNT", "SPOOL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.child[2])
        return
    from remote_harness import clean_env, server

    rates: dict[int, float] = {}
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp, server(Path(tmp) / "server", "--workers", "1") as srv:
        for workers in (1, 2, 4, 8):
            procs = [subprocess.Popen([sys.executable, __file__, "--child", srv.url, str(args.count),
                                       os.path.join(tmp, "spool")], env=clean_env(), stdout=subprocess.PIPE,
                                      text=True) for _ in range(workers)]
            spans = []
            for proc in procs:
                out, _ = proc.communicate()
                assert proc.returncode == 0
                spans.append([float(part) for part in out.split()])
            # From the first save of any worker to the last save of any (process start and imports excluded).
            elapsed = max(end for _, end in spans) - min(begin for begin, _ in spans)
            rates[workers] = workers * args.count / elapsed
            print(f"{workers} worker(s): {rates[workers]:7.1f} entities/s ({workers * args.count} in {elapsed:.1f} s),"
                  f" {rates[workers] / rates[1]:.2f}x one worker", flush=True)


if __name__ == "__main__":
    main()
