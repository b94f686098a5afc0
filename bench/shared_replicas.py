"""Benchmark: an entity committed through one replica's store, received by an SSE client of another replica.

One ``pipeline-recorder serve --store s3://... --database ...`` process is replica B; the writer (as replica A,
or a worker, writes: its own ``SharedStore`` with its own pool) saves entities through the library; an SSE client
on B's ``/events`` stamps each entity event as it arrives. Latency: from ``save_entity`` returned on A to the
event on B's stream (NOTIFY delivery, B's incremental read, SSE framing, HTTP), per entity; p50/p99/max printed,
next to the same path for a second client that polls B's ``/status`` every 1 s (the baseline without events).

    .venv/bin/python bench/shared_replicas.py             # 300 entities, one every 20 ms
    .venv/bin/python bench/shared_replicas.py --count 50

Where the time goes is printed too, from a third store object in this process that follows the run as B's
server does (its own LISTEN connection): save_entity returned -> the NOTIFY woke it -> the document read after it.

Target: p99 < 100 ms on loopback. The servers are started here (loopback) and stopped at the end by pid.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests")]

from pipeline_recorder import LivePipelineRecorder  # noqa: E402
from pipeline_recorder.naming import new_run_id  # noqa: E402
from pipeline_recorder.stores.shared import SharedStore  # noqa: E402
from shared_servers import running_moto, running_postgres  # noqa: E402
from support import free_port, wait_until  # noqa: E402


def follow_events(url: str, seen: dict[int, float], stop: threading.Event) -> None:
    with httpx.Client(timeout=httpx.Timeout(10, read=60)) as client, client.stream("GET", url) as response:
        event = ""
        for line in response.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event == "entity":
                seen.setdefault(int(json.loads(line.split(":", 1)[1])["sequence"]), time.perf_counter())
            if stop.is_set() or event == "end":
                return


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--interval", type=float, default=0.02)
    args = parser.parse_args()
    with running_postgres() as postgres, running_moto() as s3:
        os.environ.update(s3.env())
        url, database = f"s3://{s3.new_bucket()}/bench", postgres.new_database()
        port = free_port()
        replica_b = subprocess.Popen([sys.executable, "-m", "pipeline_recorder.cli", "serve", "--port", str(port),
                                      "--store", url, "--database", database], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until(lambda: _answers(base), 60, "replica B to serve")
            with SharedStore.open(url, database) as replica_a:
                run_id = new_run_id()
                rec = LivePipelineRecorder(run_id, "stillepost", "eco", "kids", base_path=replica_a)
                seen: dict[int, float] = {}
                stop = threading.Event()
                follower = threading.Thread(target=follow_events,
                                            args=(f"{base}/api/pipeline/{run_id}/events", seen, stop))
                follower.start()
                stages = StageProbe(SharedStore.open(url, database), run_id)
                polled: dict[int, float] = {}
                poller = threading.Thread(target=_poll, args=(f"{base}/api/pipeline/{run_id}/status", polled, stop))
                poller.start()
                time.sleep(1.0)  # both clients connected before the first entity
                returned: dict[int, float] = {}
                for n in range(1, args.count + 1):
                    rec.save_entity("input", f"entity {n}")
                    returned[n] = time.perf_counter()
                    time.sleep(args.interval)
                wait_until(lambda: len(seen) >= args.count, 30, "every entity on the stream")
                rec.mark_complete()
                stages.close()
                stop.set()
                follower.join(30)
                poller.join(30)
        finally:
            replica_b.send_signal(signal.SIGTERM)
            replica_b.wait(30)
    sse = [(seen[n] - returned[n]) * 1000 for n in returned if n in seen]
    poll = [(polled[n] - returned[n]) * 1000 for n in returned if n in polled]
    print(f"SSE on replica B, from save_entity returned on A: p50 {statistics.median(sse):.1f} ms, "
          f"p90 {percentile(sse, 0.90):.1f} ms, p95 {percentile(sse, 0.95):.1f} ms, "
          f"p99 {percentile(sse, 0.99):.1f} ms, max {max(sse):.1f} ms over {len(sse)} entities")
    print(f"baseline, polling B's /status every 1 s:            p50 {statistics.median(poll):.1f} ms, "
          f"p99 {percentile(poll, 0.99):.1f} ms over {len(poll)} entities")
    woke = [(stages.woke[n] - returned[n]) * 1000 for n in returned if n in stages.woke]
    read = [(stages.read[n] - stages.woke[n]) * 1000 for n in returned if n in stages.read and n in stages.woke]
    for name, values in (("NOTIFY delivered (wake of a follower)", woke), ("document read after the wake", read)):
        print(f"stage, {name}: p50 {statistics.median(values):.1f} ms, p99 {percentile(values, 0.99):.1f} ms")
    print("target: SSE p99 < 100 ms")


class StageProbe:
    """A follower of the run on its own store object: when each entity's NOTIFY woke it, and when the document
    read after that wake-up (liveness applied, as a follower reads) listed the entity."""

    def __init__(self, store: SharedStore, run_id: str) -> None:
        self.store, self.run_id = store, run_id
        self.woke: dict[int, float] = {}
        self.read: dict[int, float] = {}
        self._known = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        store.subscribe(run_id, self._woken)
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()

    def _woken(self) -> None:
        self._pending = time.perf_counter()
        self._wake.set()

    def _follow(self) -> None:
        while not self._stop.is_set():
            if not self._wake.wait(0.5):
                continue
            self._wake.clear()
            woke = self._pending
            doc = self.store.apply_liveness(self.run_id, dict(self.store.parsed(self.run_id).doc))
            done = time.perf_counter()
            for entity in doc["entities"][self._known:]:
                self.woke.setdefault(int(entity["sequence"]), woke)
                self.read.setdefault(int(entity["sequence"]), done)
            self._known = len(doc["entities"])

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.store.unsubscribe(self.run_id, self._woken)
        self.store.close()


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/api/pipeline/runs", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def _poll(url: str, seen: dict[int, float], stop: threading.Event) -> None:
    with httpx.Client(timeout=10) as client:
        while not stop.is_set():
            answer = client.get(url)
            if answer.status_code == 200:
                now = time.perf_counter()
                for entity in answer.json()["entities"]:
                    seen.setdefault(int(entity["sequence"]), now)
            stop.wait(1.0)


if __name__ == "__main__":
    main()
