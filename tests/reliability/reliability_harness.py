"""What the reliability scenarios share: a `pipeline-recorder serve` subprocess that can be killed and restarted
on the same port, SSE clients that reconnect with Last-Event-ID, the CLI as a user runs it, and memory readings.

Used by the tests in this folder and by the scripts bench/faults_*.py and bench/load_*.py (which put this folder
on sys.path). Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from support import free_port, wait_until

HERE = Path(__file__).resolve().parent
WORKERS = HERE / "reliability_workers.py"




def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for the product's processes: no PIPELINE_RECORDER_* of the developer, plain output."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIPELINE_RECORDER_")}
    env.update({"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb", "PYTHONUNBUFFERED": "1"})
    env.update(extra or {})
    return env


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipeline_recorder.cli", *args]


def worker_command(*args: str) -> list[str]:
    return [sys.executable, str(WORKERS), *args]


def cli_json(*args: str, timeout: float = 120) -> tuple[int, Any]:
    """Run the CLI with ``--json`` and parse what it printed: (exit code, parsed stdout)."""
    done = subprocess.run(cli_command(*args, "--json"), capture_output=True, text=True, timeout=timeout,
                          env=clean_env())
    try:
        return done.returncode, json.loads(done.stdout)
    except ValueError:
        raise AssertionError(f"`pipeline-recorder {' '.join(args)} --json` printed no JSON "
                             f"(exit {done.returncode}): {done.stdout[-500:]} {done.stderr[-2000:]}") from None


def rss_bytes(pid: int) -> int:
    """Resident memory of a process (VmRSS), in bytes."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far, in seconds."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class ServerProcess:
    """`pipeline-recorder serve` in a subprocess on a fixed loopback port; ``kill9`` + ``start`` is a crash and a
    restart of the server on the same address, so clients can reconnect to it."""

    def __init__(self, base: Path, *, workers: int = 2, env: dict[str, str] | None = None) -> None:
        self.base = base
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.log = base.parent / f"server-{self.port}.log"

    def answers(self) -> bool:
        try:
            return httpx.get(f"{self.url}/api/schema/configs", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def start(self) -> ServerProcess:
        assert self.proc is None or self.proc.poll() is not None, "the server is already running"
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                cli_command("serve", "--host", "127.0.0.1", "--port", str(self.port), "--base-path", str(self.base),
                            "--workers", str(self.workers)),
                stdout=log, stderr=subprocess.STDOUT, env=clean_env(self.env), start_new_session=True)
        proc = self.proc
        wait_until(lambda: proc.poll() is not None or self.answers(), timeout=60, what="the server to answer")
        if proc.poll() is not None:
            raise AssertionError(f"the server exited at start ({proc.returncode}): {self.log.read_text()[-2000:]}")
        self.starts += 1
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill9(self) -> None:
        """SIGKILL the server: no shutdown code runs, open streams and running pipelines die with it."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        assert self.proc.returncode == -signal.SIGKILL

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def errors_logged(self) -> list[str]:
        """Lines of the server log that report an exception or a 500."""
        if not self.log.exists():
            return []
        text = self.log.read_text(errors="replace")
        return [line for line in text.splitlines()
                if "Traceback" in line or " 500 " in line or "Exception in ASGI" in line]


# -- SSE -----------------------------------------------------------------------------------------------------------


@dataclass
class Followed:
    """What one SSE client saw of a run, over all its connections."""

    run_id: str
    entities: list[dict[str, Any]] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    end: str | None = None
    connections: int = 0
    failed_connections: int = 0
    bad_status: list[int] = field(default_factory=list)
    frame_bytes: list[tuple[str, int]] = field(default_factory=list)  # (event, bytes of its frame)

    def duplicates(self) -> list[int]:
        return sorted({i for i in self.ids if self.ids.count(i) > 1})

    def filenames(self) -> list[str]:
        return [entity["filename"] for entity in self.entities]


async def follow_run(client: httpx.AsyncClient, url: str, run_id: str, *, deadline: float,
                     seen: Followed | None = None, reconnect_pause: float = 0.2) -> Followed:
    """Follow ``/events`` of a run until ``end``, reconnecting with Last-Event-ID when the connection drops (a
    server restart) -- as a browser's EventSource does -- until ``deadline`` (loop time)."""
    seen = seen or Followed(run_id)
    loop = asyncio.get_running_loop()
    while seen.end is None and loop.time() < deadline:
        headers = {"Last-Event-ID": str(seen.ids[-1])} if seen.ids else {}
        try:
            async with client.stream("GET", f"{url}/api/pipeline/{run_id}/events", headers=headers) as response:
                if response.status_code != 200:
                    seen.bad_status.append(response.status_code)
                    await response.aread()
                    if response.status_code < 500:
                        return seen
                    raise httpx.RemoteProtocolError(f"status {response.status_code}")
                seen.connections += 1
                await _read_frames(response, seen)
        except (httpx.TransportError, httpx.RemoteProtocolError):
            seen.failed_connections += 1
        if seen.end is None:
            await asyncio.sleep(reconnect_pause)  # EventSource's retry pause
    return seen


async def _read_frames(response: httpx.Response, seen: Followed) -> None:
    fields: dict[str, str] = {}
    size = 0
    async for line in response.aiter_lines():
        size += len(line.encode()) + 1
        if line.startswith(":"):
            size = 0
            continue
        if line:
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
            continue
        if "event" in fields:
            event, data = fields["event"], json.loads(fields.get("data", "null"))
            seen.frame_bytes.append((event, size))
            if "id" in fields:
                seen.ids.append(int(fields["id"]))
            if event == "entity":
                seen.entities.append(data)
            elif event == "end":
                seen.end = data["status"]
                return
        fields, size = {}, 0


def listed(base: Path, run_id: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((base / "pipeline_runs" / run_id / "metadata.json").read_bytes())
    return doc


def kill_group(proc: subprocess.Popen[Any]) -> None:
    """SIGKILL a process we started (and its children, started in its own session)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
