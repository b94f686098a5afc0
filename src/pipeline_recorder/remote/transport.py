"""Sending one write to a recorder server, with retries that never make a second copy.

Every write is an ``Operation`` that carries its own ``Idempotency-Key``, made once when the write is made and
sent with every attempt (and kept in the spool), so the server answers a retry with the first answer. An attempt
is retried, with exponential backoff and full jitter (honouring ``Retry-After``), when the connection fails or
times out and when the server answers 5xx, 429, or 409 with ``Retry-After`` (the first call with this key is
still running). When ``retry_seconds`` have passed the write is given up with ``ServerUnreachableError``. Any other
answer is final: 2xx is returned, 4xx raised as the error the server names (``Pipeline-Error``), so a remote
recorder raises what a local one would.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from .. import errors
from ..errors import RecorderError, RemoteError, ServerUnreachableError

log = logging.getLogger("pipeline_recorder.remote")

DEFAULT_RETRY_SECONDS = 20.0
BACKOFF_FIRST = 0.05
BACKOFF_MAX = 2.0
CHUNK = 256 * 1024
# Connect quickly (an absent server should be noticed fast); reads may take long (a big entity being fsynced).
TIMEOUT = httpx.Timeout(60.0, connect=3.0)
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass
class Operation:
    """One write: method, path under the server URL, JSON body or content (bytes or a file sent by streaming),
    extra headers. ``key`` is the Idempotency-Key of every attempt."""

    method: str
    path: str
    json: Any = None
    content: bytes | Path | None = None
    headers: dict[str, str] = field(default_factory=dict)
    key: str = field(default_factory=lambda: uuid.uuid4().hex)

    def to_record(self) -> dict[str, Any]:
        """The operation as JSON for the spool (file content is referenced by the caller)."""
        return {"method": self.method, "path": self.path, "json": self.json, "headers": self.headers,
                "key": self.key}


def _file_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def error_from_answer(response: httpx.Response) -> RecorderError:
    """The exception a final error answer stands for: the class the server names, else one by status."""
    try:
        message = str(response.json().get("error") or response.text)
    except ValueError:
        message = response.text[:500] or f"HTTP {response.status_code}"
    name = response.headers.get("Pipeline-Error", "")
    cls = getattr(errors, name, None) if name.isidentifier() else None
    if isinstance(cls, type) and issubclass(cls, RecorderError) and cls not in (RemoteError, ServerUnreachableError):
        if issubclass(cls, OSError):
            return cls(0, message)
        return cls(message)
    if response.status_code == 404:
        return errors.RunNotFoundError(message)
    if response.status_code == 400:
        return errors.ValidationError(message)
    return RemoteError(f"the recorder server answered {response.status_code}: {message}")


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    with contextlib.suppress(ValueError):
        return min(max(float(value), 0.0), 60.0)
    return None


class Transport:
    """The HTTP client of one recorder server (thread-safe)."""

    def __init__(self, server_url: str, token: str | None = None, *,
                 retry_seconds: float = DEFAULT_RETRY_SECONDS) -> None:
        self.server_url = server_url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(base_url=self.server_url, headers=headers, timeout=TIMEOUT)
        self.retry_seconds = retry_seconds
        self._closed = threading.Event()

    def close(self) -> None:
        self._closed.set()
        self._client.close()

    def _attempt(self, op: Operation) -> httpx.Response:
        headers = {**op.headers, "Idempotency-Key": op.key}
        if isinstance(op.content, Path):
            headers["Content-Length"] = str(os.stat(op.content).st_size)
            return self._client.request(op.method, op.path, content=_file_chunks(op.content), headers=headers)
        if op.content is not None:
            return self._client.request(op.method, op.path, content=op.content, headers=headers)
        return self._client.request(op.method, op.path, json=op.json, headers=headers)

    def send(self, op: Operation, retry_seconds: float | None = None) -> Any:
        """Send ``op`` until the server gives a final answer; the JSON of a 2xx answer. ServerUnreachableError
        after ``retry_seconds`` (default: the transport's) without one; the server's error for a 4xx."""
        budget = self.retry_seconds if retry_seconds is None else retry_seconds
        deadline = time.monotonic() + budget
        delay = BACKOFF_FIRST
        attempt = 0
        while True:
            attempt += 1
            wait: float | None = None
            try:
                response = self._attempt(op)
            except httpx.TransportError as exc:
                why = f"{type(exc).__name__}: {exc}"
            else:
                if response.is_success:
                    return response.json() if response.content else None
                retried = response.status_code in RETRIED_STATUSES or (
                    response.status_code == 409 and "Retry-After" in response.headers)
                if not retried:
                    raise error_from_answer(response)
                why, wait = f"HTTP {response.status_code}", _retry_after(response)
            pause = wait if wait is not None else random.uniform(0, delay)  # full jitter
            delay = min(delay * 2, BACKOFF_MAX)
            if time.monotonic() + pause > deadline or self._closed.is_set():
                raise ServerUnreachableError(
                    f"the recorder server {self.server_url} gave no answer to {op.method} {op.path} after "
                    f"{attempt} attempt(s) in {budget:g} s (last: {why})")
            log.debug("retrying %s %s in %.2f s (%s)", op.method, op.path, pause, why)
            self._closed.wait(pause)

    def get(self, path: str) -> Any:
        """A read (status): one retried GET; its JSON."""
        return self.send(Operation("GET", path), retry_seconds=min(self.retry_seconds, 10.0))
