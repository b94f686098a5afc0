"""Fault script: a remote worker records through a proxy that cuts connections at random, and the server is killed
with kill -9 and restarted mid-run; then the run is checked: every acknowledged entity stored once, sequences
contiguous, the run completed.

    .venv/bin/python bench/remote_faults.py                      # drop rates 0.03 and 0.10, 100 extra entities
    .venv/bin/python bench/remote_faults.py --drops 0.2 --steps 300
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "remote"))

from remote_harness import FlakyProxy, metadata, run_worker, server


def one(base: Path, drop: float, steps: int) -> str:
    run_id = str(uuid.uuid4())
    with server(base) as srv:
        proxy = FlakyProxy(srv.port, drop=drop, seed=5)
        start = time.time()
        worker = run_worker("--server", proxy.url, run_id, "--extra", str(steps), "--retry", "120",
                            "--spool", str(base / "spool"))
        assert worker.stdout is not None
        lines = [json.loads(worker.stdout.readline()) for _ in range(min(30, steps))]
        srv.kill()
        srv.start()
        out, err = worker.communicate(timeout=900)
        assert worker.returncode == 0, err[-2000:]
        lines += [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        proxy.close()
    doc = metadata(base, run_id)
    sequences = [entity["sequence"] for entity in doc["entities"]]
    steps_seen = sorted(entity["metadata"]["index"] for entity in doc["entities"] if entity["type"] == "step")
    acked = [line["filename"] for line in lines if line.get("op") == "entity"]
    return (f"drop {drop}: {proxy.dropped} connections cut, {len(acked)} entities acknowledged, {len(sequences)} "
            f"stored; contiguous: {sequences == list(range(1, len(sequences) + 1))}; each step once: "
            f"{steps_seen == list(range(steps))}; every acknowledged one stored: "
            f"{set(acked) <= {e['filename'] for e in doc['entities']}}; status {doc['status']}; "
            f"{time.time() - start:.0f} s with one server kill -9 and restart")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--drops", type=float, nargs="+", default=[0.03, 0.10])
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
        for index, drop in enumerate(args.drops):
            print(one(Path(tmp) / f"store-{index}", drop, args.steps), flush=True)


if __name__ == "__main__":
    main()
