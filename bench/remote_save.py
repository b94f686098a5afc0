"""Benchmark: a remote ``save_entity`` over loopback against a local ``save_entity``, measured in the same run.

A real server (``pipeline-recorder serve``, a separate process) stores into a folder on the same disk as the local
recorder's. Each round saves one small text entity locally and one through a RemoteRecorder (an HTTP request with
its Idempotency-Key, the server's idempotency records, the same durable save), alternating, so that both see the
same disk and machine load. Printed: the medians and their ratio.

    .venv/bin/python bench/remote_save.py              # 400 rounds
    .venv/bin/python bench/remote_save.py --rounds 100

Target (issue 11): remote <= 2.5x local.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "remote"))

from remote_harness import server

from pipeline_recorder import LivePipelineRecorder, RemoteRecorder, new_run_id

TEXT = "A small text entity: the translated prompt of one pipeline stage."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=400)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp, server(Path(tmp) / "server") as srv:
        local = LivePipelineRecorder(new_run_id(), "bench", "eco", "kids", base_path=Path(tmp) / "local")
        remote = RemoteRecorder(srv.url, new_run_id(), "bench", "eco", "kids", spool_dir=Path(tmp) / "spool",
                                heartbeat=False)
        for _ in range(20):  # warm up: connections, imports, caches
            local.save_entity("translation", TEXT)
            remote.save_entity("translation", TEXT)
        local_times, remote_times = [], []
        for _ in range(args.rounds):
            start = time.perf_counter()
            local.save_entity("translation", TEXT)
            local_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            remote.save_entity("translation", TEXT)
            remote_times.append(time.perf_counter() - start)
        remote.close()
    local_ms = statistics.median(local_times) * 1000
    remote_ms = statistics.median(remote_times) * 1000
    print(f"rounds: {args.rounds}")
    print(f"local  save_entity median: {local_ms:.2f} ms")
    print(f"remote save_entity median: {remote_ms:.2f} ms")
    print(f"ratio remote/local: {remote_ms / local_ms:.2f}x (target <= 2.5x)")


if __name__ == "__main__":
    main()
