"""The real servers the shared-store tests talk to: a PostgreSQL cluster and an S3-protocol server, on loopback.

PostgreSQL is Debian's (``make postgresql`` installs it): ``initdb`` into a temp folder and ``postgres`` listening
on 127.0.0.1 and a socket in that folder, run as the ``postgres`` user when the tests run as root (PostgreSQL
refuses to run as root). The S3 side is ``moto_server`` (moto's S3 over real HTTP). Both are started on free ports
and stopped by their pid; nothing else on the machine is touched.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

from support import free_port, wait_until

POSTGRES_USER = "postgres"
# The credentials moto accepts (it checks no signature); the variables are the standard AWS ones.
AWS_TEST_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}


def postgres_bindir() -> Path:
    """The folder of Debian's PostgreSQL programs (the newest installed major version)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run `make postgresql` (installs Debian's postgresql)")
    return Path(found[-1]).parent


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", POSTGRES_USER, "--", *command] if os.geteuid() == 0 else command


def _stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Stop one server by its pid (runuser passes the signal on to the server it started)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


@dataclass
class Postgres:
    """One PostgreSQL cluster in a temp folder; ``url(database)`` is a libpq URL for one of its databases."""

    folder: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        bindir = postgres_bindir()
        data = self.folder / "data"
        if not data.exists():
            if os.geteuid() == 0:
                # The folder must be the postgres user's; the temp folder above it must be reachable by it.
                shutil.chown(self.folder, POSTGRES_USER)
                os.chmod(self.folder, 0o700)
            subprocess.run(_as_postgres([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                                         "-E", "UTF8", "--no-sync"]),
                           check=True, capture_output=True)
        self.port = self.port or free_port()  # a restart keeps the port: clients keep their URL
        log = open(self.folder / "postgres.log", "ab")  # noqa: SIM115 -- the server's log, open while it runs
        # fsync off: the tests prove the recorder's protocol, not the disk's durability (PostgreSQL's own job).
        self.process = subprocess.Popen(
            _as_postgres([str(bindir / "postgres"), "-D", str(data), "-k", str(self.folder), "-p", str(self.port),
                          "-h", "127.0.0.1", "-c", "fsync=off", "-c", "max_connections=300"]),
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_until(self._ready, 60, "PostgreSQL to accept connections")

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"postgres exited: {(self.folder / 'postgres.log').read_text()[-2000:]}")
        try:
            with psycopg.connect(self.url("postgres"), connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database; its URL."""
        name = f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """SIGINT to the postmaster: PostgreSQL's "fast" shutdown (ends the sessions, waits for no client)."""
        self._signal(signal.SIGINT)

    def kill(self) -> None:
        """SIGKILL to the postmaster, as a crash would; its backends end when they notice it is gone."""
        self._signal(signal.SIGKILL)

    def _signal(self, sig: int) -> None:
        # The postmaster's pid, from its pid file: under runuser, self.process is runuser, which exits with it.
        process = self.process
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(FileNotFoundError, ValueError, IndexError, ProcessLookupError):
            os.kill(int((self.folder / "data" / "postmaster.pid").read_text().split()[0]), sig)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            _stop(process, signal.SIGKILL)
        self.process = None


@dataclass
class MotoS3:
    """moto_server on a free loopback port: an S3-protocol endpoint; ``new_bucket()`` makes an empty bucket."""

    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    log: Path = field(default_factory=lambda: Path(tempfile.gettempdir()) / f"moto-{uuid.uuid4().hex[:8]}.log")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.port = self.port or free_port()
        program = Path(sys.executable).with_name("moto_server")
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen([str(program), "-H", "127.0.0.1", "-p", str(self.port)],
                                            stdout=log, stderr=subprocess.STDOUT)
        wait_until(self._ready, 60, "moto_server to answer")

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"moto_server exited: {self.log.read_text()[-2000:]}")
        try:
            return httpx.get(self.endpoint, timeout=2).status_code < 500
        except httpx.TransportError:
            return False

    def new_bucket(self) -> str:
        name = f"b-{uuid.uuid4().hex[:16]}"
        httpx.put(f"{self.endpoint}/{name}", timeout=10).raise_for_status()
        return name

    def env(self) -> dict[str, str]:
        return {**AWS_TEST_ENV, "AWS_ENDPOINT_URL": self.endpoint}

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)

    def kill(self) -> None:
        if self.process is not None:
            _stop(self.process, signal.SIGKILL)


@contextlib.contextmanager
def running_postgres() -> Iterator[Postgres]:
    folder = Path(tempfile.mkdtemp(prefix="pr-postgres-"))
    if os.geteuid() == 0:
        pwd.getpwnam(POSTGRES_USER)  # fails clearly when Debian's postgresql (and its user) is missing
    server = Postgres(folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def running_moto() -> Iterator[MotoS3]:
    server = MotoS3()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        with contextlib.suppress(FileNotFoundError):
            server.log.unlink()


class TcpProxy:
    """A loopback TCP proxy to ``target_port`` that a test can cut (every connection dropped, new ones refused)
    and restore on the same port: a server that goes away and comes back, without losing its state."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, upstream))
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            with self._lock:
                self._sockets.difference_update((source, target))

    def cut(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.cut()
