"""Load: many SSE clients and If-None-Match pollers on a `pipeline-recorder serve` subprocess while paced pipelines
(separate recording processes) fill their runs. Used by test_load.py (short) and bench/load_sse.py (60 s).

Each pipeline saves an entity every ``interval`` seconds for ``seconds`` and then completes. Clients are spread
evenly over the runs; each SSE client follows one run from its start to ``end``; each poller polls one run's
``/status`` with ``If-None-Match`` every ``poll_interval`` seconds until it reads ``completed``.

Checked (``LoadReport.problems``): every request answered 200 (or 304 to a poller), no connection failed, every
SSE client received exactly the run's entities in order and ``end: completed``, every poller's last document is
the run's final one, the server logged no error; the server's RSS is sampled each second.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from reliability_harness import (
    Followed,
    ServerProcess,
    clean_env,
    cpu_seconds,
    follow_run,
    kill_group,
    listed,
    rss_bytes,
    wait_until,
    worker_command,
)

from pipeline_recorder import new_run_id

MB = 1024 * 1024


@dataclass
class LoadReport:
    clients: int
    pollers: int
    pipelines: int
    seconds: float
    entities_per_run: int = 0
    events_received: int = 0
    entity_events: int = 0
    polls: Counter[int] = field(default_factory=Counter)
    poll_errors: int = 0
    rss_before: int = 0
    rss_connected: int = 0
    rss_peak: int = 0
    rss_end_of_load: int = 0
    rss_after: int = 0
    rss_samples: list[tuple[float, int]] = field(default_factory=list)
    server_cpu: float = 0.0  # CPU seconds the server process used during the load
    wall: float = 0.0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "sse_clients": self.clients, "pollers": self.pollers, "pipelines": self.pipelines,
            "load_seconds": self.seconds, "entities_per_run": self.entities_per_run,
            "sse_events_received": self.events_received, "sse_entity_events": self.entity_events,
            "polls_200": self.polls[200], "polls_304": self.polls[304], "poll_errors": self.poll_errors,
            "rss_before_mb": round(self.rss_before / MB, 1), "rss_connected_mb": round(self.rss_connected / MB, 1),
            "rss_peak_mb": round(self.rss_peak / MB, 1), "rss_end_of_load_mb": round(self.rss_end_of_load / MB, 1),
            "rss_after_mb": round(self.rss_after / MB, 1),
            "server_cpu_seconds": round(self.server_cpu, 1),
            "server_cpu_ms_per_sse_event": round(1000 * self.server_cpu / max(1, self.events_received), 3),
            "wall_seconds": round(self.wall, 1),
            "problems": len(self.problems),
        }


class Load:
    def __init__(self, base: Path, *, clients: int, pollers: int, pipelines: int, seconds: float,
                 interval: float = 0.25, poll_interval: float = 0.1) -> None:
        self.base = base
        self.report = LoadReport(clients, pollers, pipelines, seconds)
        self.interval = interval
        self.poll_interval = poll_interval
        self.count = max(1, round(seconds / interval))
        self.report.entities_per_run = self.count
        self.run_ids = [new_run_id() for _ in range(pipelines)]
        self.server = ServerProcess(base)
        self.last_docs: dict[int, dict[str, Any]] = {}

    async def _poll(self, client: httpx.AsyncClient, n: int) -> None:
        run_id = self.run_ids[n % len(self.run_ids)]
        etag: str | None = None
        deadline = time.monotonic() + self.report.seconds * 4 + 60
        while time.monotonic() < deadline:
            headers = {"If-None-Match": etag} if etag else {}
            try:
                response = await client.get(f"{self.server.url}/api/pipeline/{run_id}/status", headers=headers)
            except httpx.HTTPError as exc:
                self.report.poll_errors += 1
                self.report.problems.append(f"poller {n}: {exc!r}")
                return
            self.report.polls[response.status_code] += 1
            if response.status_code == 200:
                etag = response.headers["etag"]
                self.last_docs[n] = response.json()
                if self.last_docs[n]["status"] == "completed":
                    return
            elif response.status_code != 304:
                self.report.problems.append(f"poller {n}: status {response.status_code}: {response.text[:200]}")
                return
            await asyncio.sleep(self.poll_interval)  # the poller's rate, as a frontend polls every so often
        self.report.problems.append(f"poller {n} never read `completed`")

    async def _sample_rss(self, stop: asyncio.Event) -> None:
        start = time.monotonic()
        while not stop.is_set():
            rss = rss_bytes(self.server.pid)
            self.report.rss_samples.append((time.monotonic() - start, rss))
            self.report.rss_peak = max(self.report.rss_peak, rss)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)

    async def _load(self, pipelines: list[subprocess.Popen[bytes]]) -> list[Followed]:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
        async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(30, read=60)) as client:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.report.seconds * 4 + 60
            followers = [asyncio.ensure_future(follow_run(client, self.server.url, self.run_ids[n % len(self.run_ids)],
                                                          deadline=deadline))
                         for n in range(self.report.clients)]
            pollers = [asyncio.ensure_future(self._poll(client, n)) for n in range(self.report.pollers)]
            stop = asyncio.Event()
            sampler = asyncio.ensure_future(self._sample_rss(stop))
            await asyncio.sleep(0.5)
            self.report.rss_connected = rss_bytes(self.server.pid)
            for proc in pipelines:  # all clients are connected: let the pipelines go
                assert proc.stdin is not None
                proc.stdin.write(b"go\n")
                proc.stdin.flush()
            followed = await asyncio.gather(*followers)
            await asyncio.gather(*pollers)
            self.report.rss_end_of_load = rss_bytes(self.server.pid)
            stop.set()
            await sampler
            return list(followed)

    def run(self) -> LoadReport:
        started = time.monotonic()
        self.server.start()
        pipelines: list[subprocess.Popen[bytes]] = []
        try:
            for run_id in self.run_ids:
                pipelines.append(subprocess.Popen(
                    worker_command("pipeline", str(self.base), run_id, str(self.count), str(self.interval)),
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=clean_env(), start_new_session=True))
            for proc in pipelines:
                assert proc.stdout is not None
                line = proc.stdout.readline()
                assert b"ready" in line, f"a pipeline did not start: {line!r}"
            with httpx.Client(timeout=10) as client:  # warm up every route once, then take the baseline
                for run_id in self.run_ids:
                    client.get(f"{self.server.url}/api/pipeline/{run_id}/status")
            self.report.rss_before = rss_bytes(self.server.pid)
            cpu_before = cpu_seconds(self.server.pid)
            followed = asyncio.run(self._load(pipelines))
            self.report.server_cpu = cpu_seconds(self.server.pid) - cpu_before
            for proc in pipelines:
                proc.wait(60)
            wait_until(lambda: self._settled(), timeout=30, what="the server to close the finished streams")
            self.report.rss_after = rss_bytes(self.server.pid)
            self._check(followed, pipelines)
        finally:
            for proc in pipelines:
                if proc.poll() is None:
                    kill_group(proc)
                    proc.wait(10)
            self.server.stop()
        self.report.wall = time.monotonic() - started
        return self.report

    def _settled(self) -> bool:
        return httpx.get(f"{self.server.url}/api/schema/configs", timeout=10).status_code == 200

    def _check(self, followed: list[Followed], pipelines: list[subprocess.Popen[bytes]]) -> None:
        problems = self.report.problems
        problems += [f"pipeline process exited {proc.returncode}" for proc in pipelines if proc.returncode != 0]
        docs = {run_id: listed(self.base, run_id) for run_id in self.run_ids}
        for seen in followed:
            self.report.events_received += len(seen.ids)
            self.report.entity_events += len(seen.entities)
            final = docs[seen.run_id]
            if seen.entities != final["entities"]:
                problems.append(f"an SSE client of {seen.run_id} saw {len(seen.entities)} entities, "
                                f"{len(final['entities'])} are listed (or they differ)")
            if seen.end != "completed" or seen.failed_connections or seen.bad_status or seen.connections != 1:
                problems.append(f"an SSE client of {seen.run_id}: end {seen.end}, {seen.connections} connections, "
                                f"{seen.failed_connections} failed, statuses {seen.bad_status}")
            if seen.duplicates():
                problems.append(f"an SSE client of {seen.run_id} got ids twice: {seen.duplicates()[:5]}")
        for n, doc in self.last_docs.items():
            final = docs[self.run_ids[n % len(self.run_ids)]]
            # /status serves the stored document without who writes the run (owner, writers).
            public = {key: value for key, value in final.items() if key not in ("owner", "writers")}
            if json.dumps(doc, sort_keys=True) != json.dumps(public, sort_keys=True):
                problems.append(f"poller {n} last read revision {doc['revision']}, the run ended at "
                                f"{final['revision']}")
        if len(self.last_docs) != self.report.pollers:
            problems.append(f"only {len(self.last_docs)} of {self.report.pollers} pollers got a document")
        problems += [f"server log: {line}" for line in self.server.errors_logged()[:10]]
