"""The offline spool: writes a remote recorder could not send, kept on local disk, in order, until they are sent.

One folder per run, ``{spool}/{run_id}/``::

    server.json          the server URL the writes are for (never the token)
    00000001.json        one write: method, path, JSON body or headers, its Idempotency-Key
    00000002.body        the content of an entity write, as it will be sent
    00000002.json
    rejected/            writes the server refused for good (kept, with its answer, for a person to look at)

A write is spooled by writing its ``.body`` (fsynced), then its ``.json`` (temp file, fsync, rename, fsync of the
folder): the ``.json`` appearing is the moment the write is acknowledged, so a crash never leaves a half write
that looks whole. Writes are sent in the order of their numbers, each with the Idempotency-Key it was made with,
and removed only after the server acknowledged it, so a write sent twice (a crash after sending, before removing)
is answered from the server's record and stored once. One sender at a time holds ``.lock`` (flock).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ..atomic import fsync_dir, replace_atomically, storage_errors
from ..errors import RecorderError, ServerUnreachableError
from ..naming import validate_run_id
from .transport import Operation, Transport

SPOOL_ENV = "PIPELINE_RECORDER_SPOOL"
SERVER_FILE = "server.json"
REJECTED_DIR = "rejected"
LOCK_FILE = ".lock"
CREATE_PATH = "/api/pipeline/runs"
_OP_NAME = re.compile(r"^(\d{8})\.json$")
_COPY_CHUNK = 1024 * 1024


def default_spool_root() -> Path:
    """``$PIPELINE_RECORDER_SPOOL``, else ``~/.cache/pipeline-recorder/spool``."""
    configured = os.environ.get(SPOOL_ENV)
    if configured:
        return Path(configured).absolute()
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "pipeline-recorder" / "spool"


class RunSpool:
    """The spooled writes of one run."""

    def __init__(self, root: Path, run_id: str) -> None:
        self.run_id = validate_run_id(run_id)
        self.folder = Path(root) / run_id

    def server_url(self) -> str | None:
        try:
            with open(self.folder / SERVER_FILE, encoding="utf-8") as f:
                value = json.load(f).get("server_url")
        except (OSError, ValueError, AttributeError):
            return None
        return value if isinstance(value, str) else None

    def _ensure(self, server_url: str) -> None:
        if not self.folder.is_dir():
            self.folder.mkdir(parents=True, exist_ok=True)
            fsync_dir(self.folder.parent)
        if not (self.folder / SERVER_FILE).is_file():
            replace_atomically(self.folder / SERVER_FILE,
                               json.dumps({"server_url": server_url, "run_id": self.run_id}).encode())

    def pending(self) -> list[Path]:
        """The spooled writes' ``.json`` files, oldest first."""
        try:
            names = os.listdir(self.folder)
        except FileNotFoundError:
            return []
        return [self.folder / name for name in sorted(names) if _OP_NAME.match(name)]

    def __len__(self) -> int:
        return len(self.pending())

    def append(self, server_url: str, op: Operation, source: BinaryIO | None = None) -> None:
        """Spool ``op`` durably after every write spooled before it; ``source`` is streamed into its body file
        (else ``op.content`` bytes, or the file ``op.content`` names, is copied)."""
        with storage_errors(f"spool a write of run {self.run_id!r} in {self.folder}"):
            self._ensure(server_url)
            existing = self.pending()
            number = int(existing[-1].name[:8]) + 1 if existing else 1
            record = op.to_record()
            if source is not None or op.content is not None:
                body = self.folder / f"{number:08d}.body"
                with open(body, "wb") as out:
                    if source is not None:
                        shutil.copyfileobj(source, out, _COPY_CHUNK)
                    elif isinstance(op.content, Path):
                        with open(op.content, "rb") as f:
                            shutil.copyfileobj(f, out, _COPY_CHUNK)
                    else:
                        assert op.content is not None
                        out.write(op.content)
                    out.flush()
                    os.fsync(out.fileno())
                record["body"] = body.name
            replace_atomically(self.folder / f"{number:08d}.json", json.dumps(record).encode())

    @contextlib.contextmanager
    def sending(self, blocking: bool = False) -> Iterator[bool]:
        """Hold the spool's send lock; yields False when another sender holds it (unless ``blocking``)."""
        if not self.folder.is_dir():
            yield True
            return
        fd = os.open(self.folder / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)

    def load(self, path: Path) -> Operation:
        record = json.loads(path.read_text(encoding="utf-8"))
        body = record.get("body")
        return Operation(record["method"], record["path"], json=record.get("json"),
                         content=self.folder / body if body else None, headers=record.get("headers") or {},
                         key=record["key"])

    def _remove(self, path: Path) -> None:
        # A second sender that held a stale lock may have removed it already (see _tidy).
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        with contextlib.suppress(FileNotFoundError):
            path.with_suffix(".body").unlink()
        fsync_dir(self.folder)

    def _reject(self, path: Path, error: RecorderError) -> None:
        rejected = self.folder / REJECTED_DIR
        rejected.mkdir(exist_ok=True)
        record = json.loads(path.read_text(encoding="utf-8"))
        record["rejected"] = f"{type(error).__name__}: {error}"
        replace_atomically(rejected / path.name, json.dumps(record).encode())
        body = path.with_suffix(".body")
        if body.exists():
            os.replace(body, rejected / body.name)
        self._remove(path)

    def drain(self, transport: Transport, retry_seconds: float | None = None) -> tuple[int, list[str]]:
        """Send the spooled writes in order (the caller holds ``sending``); stops at the first one the server
        cannot be reached for (ServerUnreachableError). Returns how many were sent and what was rejected: a
        write the server refuses for good is moved to ``rejected/`` and the next one is sent -- unless it was the
        run's creation (the run exists with other settings, say): then every later write of the run is moved
        there too, so that none lands in a run that is not this recorder's."""
        sent, rejected = 0, []
        refused_run: RecorderError | None = None
        for path in self.pending():
            op = self.load(path)
            if refused_run is not None:  # the run was never made for us: none of its writes may go elsewhere
                self._reject(path, refused_run)
                rejected.append(f"{path.name}: not sent, the run's creation was refused")
                continue
            try:
                transport.send(op, retry_seconds)
            except RecorderError as exc:
                if isinstance(exc, ServerUnreachableError):
                    raise
                self._reject(path, exc)
                rejected.append(f"{path.name}: {type(exc).__name__}: {exc}")
                if op.method == "POST" and op.path == CREATE_PATH:
                    refused_run = exc
                continue
            self._remove(path)
            sent += 1
        self._tidy()
        return sent, rejected

    def _tidy(self) -> None:
        """Remove the run's spool folder once nothing is left in it to send or to look at. A sender that opened
        the lock file before it went and locks it afterwards finds nothing to send; one that finds writes spooled
        since sends them a second time at worst, which their Idempotency-Key makes harmless."""
        if self.pending() or (self.folder / REJECTED_DIR).exists():
            return
        with contextlib.suppress(OSError):
            for name in (SERVER_FILE, LOCK_FILE):
                (self.folder / name).unlink(missing_ok=True)
            for leftover in self.folder.iterdir():
                if leftover.name.startswith(".tmp-"):
                    leftover.unlink()
            self.folder.rmdir()


def spooled_runs(root: Path) -> list[RunSpool]:
    """Every run with a spool folder under ``root``."""
    try:
        names = sorted(os.listdir(root))
    except FileNotFoundError:
        return []
    out = []
    for name in names:
        with contextlib.suppress(RecorderError):
            if (root / name).is_dir():
                out.append(RunSpool(root, name))
    return out
