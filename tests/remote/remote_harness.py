"""Real recorder servers (``pipeline-recorder serve`` processes on loopback), a proxy that breaks connections at
random, and worker processes that record through them: what the remote tests are made of."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from support import free_port, wait_until

HERE = Path(__file__).parent


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIPELINE_RECORDER_")}
    env.update(extra or {})
    return env


@dataclass
class Server:
    """A `pipeline-recorder serve` process; ``restart`` starts it again on the same port and store."""

    base: Path
    port: int
    args: tuple[str, ...]
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = open(self.base / f"server-{self.port}.log", "ab")  # noqa: SIM115 -- the child keeps it
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pipeline_recorder.cli", "serve", "--port", str(self.port), "--base-path",
             str(self.base), *self.args], stdout=log, stderr=subprocess.STDOUT, env=clean_env())
        log.close()
        wait_until(self.answers, timeout=60, what=f"the server on port {self.port} to answer")

    def answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"the server exited with {self.process.returncode}: "
                                 f"{(self.base / f'server-{self.port}.log').read_text()[-2000:]}")
        try:
            return httpx.get(f"{self.url}/api/schema/configs", timeout=2).status_code < 500
        except httpx.TransportError:
            return False

    def kill(self) -> None:
        """kill -9, and reap it."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def server(base: Path, *args: str) -> Iterator[Server]:
    base.mkdir(parents=True, exist_ok=True)
    live = Server(base, free_port(), args)
    live.start()
    try:
        yield live
    finally:
        live.stop()


class FlakyProxy:
    """A TCP proxy on loopback in front of ``upstream_port`` that, at random (seeded), closes a connection before
    a request is passed on, or after it was passed on but before the answer is (the answer is lost)."""

    def __init__(self, upstream_port: int, drop: float, seed: int = 7) -> None:
        self.upstream_port = upstream_port
        self.drop = drop
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self.dropped = 0
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _unlucky(self) -> bool:
        with self._lock:
            if self._random.random() < self.drop:
                self.dropped += 1
                return True
            return False

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=60)
        except OSError:
            client.close()
            return
        stop = threading.Event()

        def pump(source: socket.socket, target: socket.socket) -> None:
            try:
                while not stop.is_set():
                    data = source.recv(65536)
                    if not data or self._unlucky():
                        break
                    target.sendall(data)
            except OSError:
                pass
            stop.set()
            for sock in (client, upstream):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

        threads = [threading.Thread(target=pump, args=(client, upstream), daemon=True),
                   threading.Thread(target=pump, args=(upstream, client), daemon=True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        client.close()
        upstream.close()

    def close(self) -> None:
        self._closed = True
        self._listener.close()


def run_worker(*args: str, env: dict[str, str] | None = None, timeout: float = 240) -> subprocess.Popen[str]:
    """Start ``remote_worker.py`` with ``args`` (a separate process that records through a server)."""
    return subprocess.Popen([sys.executable, str(HERE / "remote_worker.py"), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=clean_env(env))


def finish_worker(process: subprocess.Popen[str], timeout: float = 240) -> list[dict[str, Any]]:
    """Wait for a worker; the JSON lines it printed (one per acknowledged write)."""
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, f"worker failed ({process.returncode}): {err[-3000:]}"
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def metadata(base: Path, run_id: str) -> dict[str, Any]:
    return json.loads((base / "pipeline_runs" / run_id / "metadata.json").read_text())


def comparable(doc: dict[str, Any], *, revisions: bool = True) -> dict[str, Any]:
    """A run's metadata without what differs between any two recordings of it: times and writer info. Without
    ``revisions`` also without revision numbers: a remote writer's lease renewals (heartbeats while it waits for a
    restarted server, say) are writes of writer info, and each adds a revision."""
    drop = {"timestamp", "updated_at", "finished_at", "owner", "writers"} | (set() if revisions else {"revision"})
    out = {key: value for key, value in doc.items() if key not in drop}
    out["entities"] = [{key: value for key, value in entity.items() if key not in drop}
                       for entity in doc["entities"]]
    return out


def entity_files(base: Path, run_id: str) -> dict[str, bytes]:
    folder = base / "pipeline_runs" / run_id
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())
            if path.is_file() and not path.name.startswith(".") and path.name != "metadata.json"}
