"""Benchmark: how long an entity saved by ANOTHER process takes to reach a connected SSE client.

    .venv/bin/python bench/sse_latency.py                 # 300 entities, one every 20 ms
    .venv/bin/python bench/sse_latency.py --entities 100

A writer process records a run with the real recorder; the server (uvicorn, its own process) follows the run folder
with file-system notifications; a client in this process reads ``/events``. Latency = the moment the client has
the entity's event minus the moment the writer's ``save_entity`` returned (the entity is acknowledged, durable).
CLOCK_MONOTONIC is system-wide, so the processes' clocks agree.

Baselines measured in the same run over the same entities:
- ``inotify floor``: this process watching the folder itself with watchfiles (same step) and reading
  metadata.json; what any notification-driven design pays before HTTP.
- ``poll /status every 1 s``: the viewer's fallback; its latency is bounded by the poll interval.
Target (issue 3): p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from watchfiles import watch

from pipeline_recorder.events import DEBOUNCE_MS, STEP_MS

WRITER = r"""
import sys, time
from pipeline_recorder import LivePipelineRecorder
run_id, base, count, gap = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
rec = LivePipelineRecorder(run_id, "bench", "eco", "kids", base_path=base, expected_outputs=["translation"])
print("ready", flush=True)
sys.stdin.readline()
for i in range(count):
    called = time.monotonic()
    rec.save_entity("translation", f"entity {i}", {"i": i})
    print(f"{i} {called} {time.monotonic()}", flush=True)
    time.sleep(gap)
rec.mark_complete()
print("done", flush=True)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def sse_client(url: str, received: dict[int, float], opened: threading.Event) -> None:
    with httpx.Client(timeout=httpx.Timeout(10, read=60)) as client, client.stream("GET", url) as response:
        event = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
                if event == "status":
                    opened.set()
            elif line.startswith("data: ") and event == "entity":
                received[json.loads(line[6:])["metadata"]["i"]] = time.monotonic()
            elif line.startswith("data: ") and event == "end":
                return


def floor_watcher(folder: Path, received: dict[int, float], stop: threading.Event, opened: threading.Event) -> None:
    path = folder / "metadata.json"
    seen = 0
    opened.set()
    for _ in watch(folder, debounce=DEBOUNCE_MS, step=STEP_MS, stop_event=stop, recursive=False,
                   rust_timeout=200, yield_on_timeout=True):
        try:
            doc = json.loads(path.read_bytes())
        except (OSError, ValueError):
            continue
        now = time.monotonic()
        for entity in doc["entities"][seen:]:
            received.setdefault(entity["metadata"]["i"], now)
        seen = len(doc["entities"])
        if doc["status"] != "running":
            return


def poller(url: str, received: dict[int, float], stop: threading.Event, opened: threading.Event) -> None:
    with httpx.Client(timeout=10) as client:
        opened.set()
        while not stop.is_set():
            doc = client.get(url).json()
            now = time.monotonic()
            for entity in doc["entities"]:
                received.setdefault(entity["metadata"]["i"], now)
            if doc["status"] != "running":
                return
            time.sleep(1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=300)
    parser.add_argument("--gap", type=float, default=0.02, help="seconds between two saves")
    args = parser.parse_args()
    from pipeline_recorder import new_run_id

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        port = free_port()
        server = subprocess.Popen([sys.executable, "-c", "from pipeline_recorder.cli import main; main()", "serve",
                                   "--port", str(port), "--base-path", str(base)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        run_id = new_run_id()
        writer = subprocess.Popen([sys.executable, "-c", WRITER, run_id, str(base), str(args.entities),
                                   str(args.gap)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert writer.stdout is not None and writer.stdin is not None
            assert writer.stdout.readline().strip() == "ready"
            url = f"http://127.0.0.1:{port}/api/pipeline/{run_id}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{url}/status", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not start")
                time.sleep(0.05)
            results: dict[str, dict[int, float]] = {"sse": {}, "floor": {}, "poll": {}}
            stop = threading.Event()
            opened = {name: threading.Event() for name in results}
            threads = [
                threading.Thread(target=sse_client, args=(f"{url}/events", results["sse"], opened["sse"])),
                threading.Thread(target=floor_watcher, args=(base / "pipeline_runs" / run_id, results["floor"], stop,
                                                              opened["floor"])),
                threading.Thread(target=poller, args=(f"{url}/status", results["poll"], stop, opened["poll"])),
            ]
            for thread in threads:
                thread.start()
            for event in opened.values():
                event.wait(10)
            time.sleep(0.3)  # let the floor watcher's inotify watch settle
            writer.stdin.write("go\n")
            writer.stdin.flush()
            saved: dict[int, tuple[float, float]] = {}
            for line in writer.stdout:
                if line.strip() == "done":
                    break
                i, called, returned = line.split()
                saved[int(i)] = (float(called), float(returned))
            for thread in threads:
                thread.join(30)
            stop.set()
        finally:
            writer.kill()
            server.terminate()
            server.wait(10)
    save_ms = [(r - c) * 1000 for c, r in saved.values()]
    print(f"{args.entities} entities saved by another process, one every {args.gap * 1000:g} ms; "
          f"watchfiles step {STEP_MS} ms; {os.cpu_count()} CPUs")
    print(f"save_entity itself: median {statistics.median(save_ms):.1f} ms, p99 {percentile(save_ms, 99):.1f} ms")
    print(f"{'path (from save_entity returned)':<40}{'got':>6}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    labels = {"sse": "SSE client via the server", "floor": "inotify floor (same process watch)",
              "poll": "baseline: poll /status every 1 s"}
    figures = {}
    for name, got in results.items():
        lat = [(got[i] - saved[i][1]) * 1000 for i in saved if i in got]
        if not lat:
            print(f"{labels[name]:<40}{0:>6}")
            continue
        figures[name] = (statistics.median(lat), percentile(lat, 99))
        print(f"{labels[name]:<40}{len(lat):>6}{figures[name][0]:>9.1f}{figures[name][1]:>9.1f}{max(lat):>9.1f}")
    if "sse" in figures and "floor" in figures:
        print(f"SSE p99 over the inotify floor's p99: {figures['sse'][1] / max(figures['floor'][1], 0.001):.2f}x; "
              f"target p99 < 50 ms: {'met' if figures['sse'][1] < 50 else 'NOT met'}")


if __name__ == "__main__":
    main()
