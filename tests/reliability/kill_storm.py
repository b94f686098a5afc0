"""The kill storm: recording processes SIGKILLed at random moments, and the server SIGKILLed and restarted while
SSE clients stream and server-run pipelines are in flight; then every promise is checked.

Three kinds of victims, chosen at random:

- ``writer``: reliability_workers.py writing one of a few shared runs, killed after a random number of
  acknowledged saves plus a random few milliseconds (so inside the next save);
- ``cli``: ``pipeline-recorder run CONFIG TEXT`` killed a random moment after it printed its run id;
- the server (``pipeline-recorder serve``), every so often, a random moment after it was asked to run pipelines
  (``"wait": false``); it is started again on the same port and the SSE clients reconnect with Last-Event-ID.

Promises checked afterwards (``StormReport.problems`` lists every broken one):

- no acknowledged entity is lost: every save a writer acknowledged, and every entity any SSE client was sent, is
  listed in metadata.json with the same sha256;
- each SSE client got every event once (no repeated id) and an ``end`` that matches the run's final status;
- every run whose writers were all killed reads as ``interrupted`` in the status API and in ``pipeline-recorder
  ls/show``; no run reads as ``running``;
- ``pipeline-recorder verify`` finds nothing but the debris of unacknowledged saves (temp files, entity files
  renamed into place whose listing never happened), and after ``verify --repair`` it is clean.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import signal
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from reliability_harness import (
    Followed,
    ServerProcess,
    clean_env,
    cli_command,
    cli_json,
    follow_run,
    listed,
    worker_command,
)

from pipeline_recorder import RunStore, new_run_id
from pipeline_recorder.naming import parse_entity_filename

CONFIGS = ("stillepost", "haiku", "klangbild", "bildbeschreibung")
TEXTS = ("Ein kleiner Hund spielt im Garten", "A red bicycle under the rain", "Die Katze schläft auf dem Dach")
ENDED = {"completed", "failed", "blocked", "cancelled", "interrupted"}
DEBRIS = {"temp_file", "unlisted_entity"}


@dataclass
class StormReport:
    seed: int
    kills: Counter[str] = field(default_factory=Counter)
    exited_before_kill: int = 0
    server_restarts: int = 0
    acked: int = 0
    runs: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    followers: int = 0
    entities_streamed: int = 0
    reconnects: int = 0
    verify_before: Counter[str] = field(default_factory=Counter)
    verify_after_repair_clean: bool = False
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"seed": self.seed, "kills": dict(self.kills), "kills_total": sum(self.kills.values()),
                "exited_before_kill": self.exited_before_kill, "server_restarts": self.server_restarts,
                "acknowledged_saves": self.acked, "runs": self.runs, "statuses": dict(self.statuses),
                "sse_clients": self.followers, "entities_streamed": self.entities_streamed,
                "sse_reconnects": self.reconnects, "verify_findings_before_repair": dict(self.verify_before),
                "verify_clean_after_repair": self.verify_after_repair_clean, "seconds": round(self.seconds, 1),
                "problems": len(self.problems)}


class Storm:
    def __init__(self, base: Path, *, kills: int, restarts: int, parallel: int, seed: int,
                 shared_runs: int = 6) -> None:
        self.base = base
        self.target = kills
        self.restarts = restarts
        self.parallel = parallel
        self.rng = random.Random(seed)
        self.report = StormReport(seed)
        self.server = ServerProcess(base, workers=4)
        self.shared_runs = [new_run_id() for _ in range(shared_runs)]
        self.acks: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.followers: list[asyncio.Task[Followed]] = []
        self.followed: set[str] = set()
        self.killed_runs: set[str] = set()  # runs with at least one writer killed
        self.server_runs: list[str] = []
        self.kills_done = 0
        self.client: httpx.AsyncClient | None = None
        self.deadline = 0.0

    # -- victims ---------------------------------------------------------------------------------------------

    def _follow(self, run_id: str) -> None:
        if run_id in self.followed or self.client is None:
            return
        self.followed.add(run_id)
        self.followers.append(asyncio.ensure_future(
            follow_run(self.client, self.server.url, run_id, deadline=self.deadline)))

    def _count_kill(self, kind: str, code: int | None) -> bool:
        if code == -signal.SIGKILL:
            self.report.kills[kind] += 1
            self.kills_done += 1
            return True
        self.report.exited_before_kill += 1
        return False

    async def _kill_writer(self, rng: random.Random) -> None:
        run_id = rng.choice(self.shared_runs)
        proc = await asyncio.create_subprocess_exec(
            *worker_command("writer", str(self.base), run_id, str(rng.randrange(1 << 30))),
            stdout=asyncio.subprocess.PIPE, env=clean_env())
        assert proc.stdout is not None
        target = rng.randrange(0, 10)
        lines: list[bytes] = []
        if target == 0:
            await asyncio.sleep(rng.uniform(0.0, 0.3))  # during start-up or while creating the run
        else:
            while len(lines) < target and (line := await proc.stdout.readline()):
                lines.append(line)
            await asyncio.sleep(rng.uniform(0.0, 0.004))  # inside the next save
        with contextlib.suppress(ProcessLookupError):  # it may have ended on its own
            proc.kill()
        rest, _ = await proc.communicate()
        lines.extend(rest.splitlines())
        self.acks[run_id].extend(json.loads(line) for line in lines if line.strip())
        if self._count_kill("writer", proc.returncode):
            self.killed_runs.add(run_id)
        if lines:
            self._follow(run_id)

    async def _kill_cli_run(self, rng: random.Random) -> None:
        proc = await asyncio.create_subprocess_exec(
            *cli_command("run", rng.choice(CONFIGS), rng.choice(TEXTS), "--base-path", str(self.base)),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, env=clean_env())
        assert proc.stdout is not None
        run_id = None
        while line := await proc.stdout.readline():
            text = line.decode(errors="replace").strip()
            if text.startswith("run ") and text.endswith(" started"):
                run_id = text.split()[1]
                break
        if run_id is not None:
            self._follow(run_id)
            await asyncio.sleep(rng.uniform(0.0, 0.5))
        with contextlib.suppress(ProcessLookupError):  # it may have ended on its own
            proc.kill()
        await proc.communicate()
        if self._count_kill("cli", proc.returncode) and run_id is not None:
            self.killed_runs.add(run_id)

    async def _restart_server(self, rng: random.Random) -> None:
        assert self.client is not None
        started = []
        for _ in range(3):
            body = {"schema": rng.choice(CONFIGS), "input_text": rng.choice(TEXTS), "execution_mode": "eco",
                    "safety_level": "kids", "wait": False}
            try:
                answer = await self.client.post(f"{self.server.url}/api/schema/pipeline/execute", json=body)
            except httpx.TransportError as exc:
                self.report.problems.append(f"execute failed before a server kill: {exc!r}")
                continue
            if answer.status_code != 202:
                self.report.problems.append(f"execute answered {answer.status_code}: {answer.text[:200]}")
                continue
            run_id = answer.json()["run_id"]
            started.append(run_id)
            self._follow(run_id)
        self.server_runs.extend(started)
        await asyncio.sleep(rng.uniform(0.0, 0.3))
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.server.kill9)
        self.killed_runs.update(started)  # those still running when the server died
        self.report.server_restarts += 1
        await loop.run_in_executor(None, self.server.start)

    async def _victims(self, worker: int) -> None:
        rng = random.Random(self.rng.randrange(1 << 30) + worker)
        while self.kills_done < self.target:
            if rng.random() < 0.5:
                await self._kill_writer(rng)
            else:
                await self._kill_cli_run(rng)

    async def _server_killer(self) -> None:
        rng = random.Random(self.rng.randrange(1 << 30))
        for n in range(self.restarts):
            # Spread the restarts over the storm: restart n after (n + 1) / (restarts + 1) of the kills.
            while self.kills_done < self.target * (n + 1) // (self.restarts + 1):
                await asyncio.sleep(0.05)
            await self._restart_server(rng)

    async def _run(self, follow_seconds: float) -> list[Followed]:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=50)
        timeout = httpx.Timeout(10, read=30)
        async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
            self.client = client
            self.deadline = asyncio.get_running_loop().time() + 10_000
            await asyncio.gather(self._server_killer(), *(self._victims(w) for w in range(self.parallel)))
            # Every run has now ended or lost its writer; the followers must all reach `end`.
            self.deadline = asyncio.get_running_loop().time() + follow_seconds
            return list(await asyncio.gather(*self.followers))

    # -- the storm and its checks -----------------------------------------------------------------------------

    def run(self, follow_seconds: float = 60) -> StormReport:
        started = time.monotonic()
        self.server.start()
        try:
            followed = asyncio.run(self._run(follow_seconds))
            self._check(followed)
        finally:
            self.server.stop()
        self.report.seconds = time.monotonic() - started
        return self.report

    def _check(self, followed: list[Followed]) -> None:
        problems = self.report.problems
        store = RunStore(self.base)
        run_ids = sorted(store.run_ids())
        self.report.runs = len(run_ids)
        docs = {run_id: listed(self.base, run_id) for run_id in run_ids}
        # No acknowledged entity lost: writers' acks and everything the server streamed.
        for run_id, acks in self.acks.items():
            self.report.acked += len(acks)
            have = {e["filename"]: e["sha256"] for e in docs[run_id]["entities"]} if run_id in docs else {}
            problems += [f"run {run_id}: acknowledged {a['filename']} is not listed with its sha256"
                         for a in acks if have.get(a["filename"]) != a["sha256"]]
        statuses = self._api_statuses(run_ids)
        self.report.statuses = Counter(statuses.values())
        self.report.followers = len(followed)
        for seen in followed:
            self.report.entities_streamed += len(seen.entities)
            self.report.reconnects += max(0, seen.connections - 1)
            have = {e["filename"]: e["sha256"] for e in docs[seen.run_id]["entities"]}
            problems += [f"run {seen.run_id}: streamed {e['filename']} is not listed with its sha256"
                         for e in seen.entities if have.get(e["filename"]) != e["sha256"]]
            if seen.duplicates():
                problems.append(f"run {seen.run_id}: event ids sent twice: {seen.duplicates()[:5]}")
            if seen.ids != sorted(seen.ids):
                problems.append(f"run {seen.run_id}: event ids out of order")
            if seen.end is None:
                problems.append(f"run {seen.run_id}: the SSE client never got `end` (bad statuses {seen.bad_status})")
            elif seen.end != statuses[seen.run_id]:
                problems.append(f"run {seen.run_id}: SSE ended with {seen.end}, the API says {statuses[seen.run_id]}")
        for run_id in run_ids:
            status = statuses[run_id]
            if status not in ENDED:
                problems.append(f"run {run_id} reads as {status!r} after every writer ended or was killed")
            if docs[run_id]["status"] == "running" and status != "interrupted":
                problems.append(f"run {run_id}: its writers are dead but the API says {status!r}")
            if run_id in self.killed_runs and docs[run_id]["status"] == "running" and status != "interrupted":
                problems.append(f"killed run {run_id} reads as {status!r}")
        self._check_cli(run_ids, statuses)
        self._check_verify(docs)

    def _api_statuses(self, run_ids: list[str]) -> dict[str, str]:
        out = {}
        with httpx.Client(base_url=self.server.url, timeout=30) as client:
            for run_id in run_ids:
                response = client.get(f"/api/pipeline/{run_id}/status")
                if response.status_code != 200:
                    self.report.problems.append(f"status of {run_id} answered {response.status_code}")
                    out[run_id] = f"http-{response.status_code}"
                else:
                    out[run_id] = response.json()["status"]
        return out

    def _check_cli(self, run_ids: list[str], statuses: dict[str, str]) -> None:
        code, rows = cli_json("ls", "--base-path", str(self.base), "--limit", "200")
        if code != 0:
            self.report.problems.append(f"`ls --json` exited {code}")
        by_cli = {row["run_id"]: row["status"] for row in rows}
        for run_id in run_ids:
            if by_cli.get(run_id) != statuses[run_id]:
                self.report.problems.append(f"run {run_id}: `ls` says {by_cli.get(run_id)!r}, the API "
                                            f"{statuses[run_id]!r}")
        interrupted = [run_id for run_id in run_ids if statuses[run_id] == "interrupted"]
        for run_id in self.rng.sample(interrupted, min(5, len(interrupted))):
            code, doc = cli_json("show", run_id, "--base-path", str(self.base))
            if doc.get("status") != "interrupted":
                self.report.problems.append(f"`show {run_id}` says {doc.get('status')!r} (exit {code})")

    def _check_verify(self, docs: dict[str, dict[str, Any]]) -> None:
        code, found = cli_json("verify", "--base-path", str(self.base))
        for finding in found["findings"]:
            self.report.verify_before[finding["code"]] += 1
            if finding["code"] not in DEBRIS:
                self.report.problems.append(f"verify: {finding['code']}: {finding['message']}")
            elif finding["code"] == "unlisted_entity":
                # Debris of an unacknowledged save: renamed into place, never listed. Its sequence is after every
                # listed one, or was taken again by a later writer of the run (who listed its own file there).
                name = Path(finding["path"]).name
                parsed = parse_entity_filename(name)
                sequences = {e["sequence"] for e in docs[finding["run_id"]]["entities"]}
                if parsed is None or not (parsed[0] > max(sequences, default=0) or parsed[0] in sequences):
                    self.report.problems.append(f"verify: unlisted {name} is inside the listed sequence range "
                                                "without a listed entity of that number")
        if found["findings"] and code == 0:
            self.report.problems.append("verify found problems but exited 0")
        cli_json("verify", "--base-path", str(self.base), "--repair")
        code, again = cli_json("verify", "--base-path", str(self.base))
        self.report.verify_after_repair_clean = code == 0 and again["clean"]
        if not self.report.verify_after_repair_clean:
            left = Counter(f["code"] for f in again["findings"])
            self.report.problems.append(f"verify after --repair is not clean (exit {code}): {dict(left)}")
