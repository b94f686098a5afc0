"""Idempotency records: what a write answered, kept so that a retry with the same ``Idempotency-Key`` gets that
answer again and changes nothing -- also when the first call is still running, or the server restarted between.

Every store keeps them (``Store.idempotency()``, an ``IdempotencyLedger``), so that a retry through any process --
on a shared store, any replica -- finds them. In the folder store a run's records are hidden helper files of its
folder, ``.idempotency/{sha256(key)}.*``, removed with the run. One call per key at a time: a call holds an
``flock`` on one of ``LOCK_BUCKETS`` lock files (chosen by the key's hash) for as long as it runs, and a retry waits
for it (up to ``wait_seconds``, then ``IdempotencyBusyError``). The lock dies with its process, so a server killed
mid-call never leaves a key locked. (The shared store's ledger: ``stores/shared/idempotency.py``.)

A call that adds an entity first records its *intent* (``begin``: durable before the entity is committed), then
commits, then records its answer (``finish``: it saves the retry a search, no more). A retry that finds the answer
gives it; one that finds only the intent (the first call was stopped, or its answer was lost with the machine)
finds out whether the entity was committed (``entity_committed``) before committing it. Writes that are harmless to
repeat (state, finish) record no intent: after a crash that took their answer, a retry makes them again, to the
same effect.
"""

from __future__ import annotations

import abc
import contextlib
import fcntl
import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .atomic import fsync_dir, replace_atomically, storage_errors
from .errors import RecorderError, ValidationError

RECORDS_DIRNAME = ".idempotency"
LOCK_BUCKETS = 64
MAX_KEY_LENGTH = 255
DEFAULT_WAIT_SECONDS = 30.0
POLL_SECONDS = 0.02  # how often a waiting retry looks whether the first call ended


class IdempotencyBusyError(RecorderError):
    """The first call with this Idempotency-Key is still running; retry the same call later."""


class IdempotencyKeyReusedError(ValidationError):
    """An Idempotency-Key was sent again with another request than the one it was first used for."""


def validate_key(key: str) -> str:
    """An Idempotency-Key is 1-255 visible ASCII characters (a UUID is the usual choice)."""
    if not 0 < len(key) <= MAX_KEY_LENGTH or not all(33 <= ord(c) <= 126 for c in key):
        raise ValidationError(f"Idempotency-Key {key[:80]!r} must be 1-{MAX_KEY_LENGTH} visible ASCII characters "
                              "(for example a UUID)")
    return key


@dataclass(frozen=True)
class Answer:
    """A recorded answer: the status code and the JSON body."""

    status: int
    body: Any


def key_digest(key: str) -> str:
    """The sha256 of a checked Idempotency-Key (hex): how the records name it (the key itself is never stored)."""
    return hashlib.sha256(validate_key(key).encode()).hexdigest()


class Claim(abc.ABC):
    """One call's hold on a key: the answer recorded by an earlier call with it, or the intent of an earlier call
    that was stopped before it answered; ``begin`` and ``finish`` record this call's own."""

    def __init__(self, digest: str, fingerprint: str, record: dict[str, Any] | None) -> None:
        self.digest = digest[:32]  # names the key where a commit records it (leases.lease_record)
        self._fingerprint = fingerprint
        if record is not None and record.get("fingerprint") != fingerprint:
            raise IdempotencyKeyReusedError(
                "this Idempotency-Key was already used for another request (other route, run or body); send a "
                "new key for a new request")
        self.answer = (Answer(int(record["status"]), record.get("body"))
                       if record is not None and record.get("status") is not None else None)
        self.intent: dict[str, Any] | None = record.get("intent") if record is not None else None

    def _data(self, record: dict[str, Any]) -> bytes:
        return json.dumps({"fingerprint": self._fingerprint, **record}, ensure_ascii=False).encode()

    def begin(self, intent: dict[str, Any]) -> None:
        """Record, durably, what this call is about to change (read back by a retry if this call is stopped)."""
        self._save_intent(intent)
        self.intent = intent

    def finish(self, status: int, body: Any) -> Answer:
        """Record this call's answer; every later call with the key gets it (after a crash the intent stands in
        for an answer that did not reach the disk)."""
        self._save_answer(status, body)
        self.answer = Answer(status, body)
        return self.answer

    @abc.abstractmethod
    def _save_intent(self, intent: dict[str, Any]) -> None:
        """Store the intent durably (before the commit it announces)."""

    @abc.abstractmethod
    def _save_answer(self, status: int, body: Any) -> None:
        """Store the answer (with the intent, if any)."""


class IdempotencyLedger(abc.ABC):
    """A store's idempotency records, with one call per key at a time across every process that opens the store."""

    wait_seconds: float = DEFAULT_WAIT_SECONDS

    @abc.abstractmethod
    def claim(self, run_id: str, key: str, fingerprint: str) -> AbstractContextManager[Claim]:
        """Hold ``key`` of the run for one call. IdempotencyBusyError when another call with the key does not end
        within ``wait_seconds``; IdempotencyKeyReusedError when the key was used for another request;
        ValidationError for a malformed key."""


def busy() -> IdempotencyBusyError:
    return IdempotencyBusyError("a request with this Idempotency-Key is still being processed; retry it later")


class FolderClaim(Claim):
    def __init__(self, path: Path, fingerprint: str, record: dict[str, Any] | None) -> None:
        super().__init__(path.stem, fingerprint, record)
        self._path = path

    def _save_intent(self, intent: dict[str, Any]) -> None:
        with storage_errors("record the intent of an idempotent request"):
            replace_atomically(self._path.with_suffix(".intent"), self._data({"intent": intent}))

    def _save_answer(self, status: int, body: Any) -> None:
        # Written atomically but not fsynced: after a crash the intent stands in for a lost answer.
        temp = self._path.with_name(f".tmp-{uuid.uuid4().hex}")
        with storage_errors("record the answer of an idempotent request"):
            try:
                with open(temp, "wb") as f:
                    f.write(self._data({"intent": self.intent, "status": status, "body": body}))
                os.replace(temp, self._path)
            except BaseException:
                temp.unlink(missing_ok=True)
                raise


def _read_record(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as f:
            record = json.loads(f.read())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return None  # unreadable: treated as never recorded (records are written whole, by rename)
    return record if isinstance(record, dict) else None


class FolderIdempotency(IdempotencyLedger):
    """Idempotency records of the folder store, in each run's folder (``folder_of(run_id)``)."""

    def __init__(self, folder_of: Callable[[str], Path], wait_seconds: float = DEFAULT_WAIT_SECONDS) -> None:
        self.folder_of = folder_of
        self.wait_seconds = wait_seconds

    @contextlib.contextmanager
    def claim(self, run_id: str, key: str, fingerprint: str) -> Iterator[Claim]:
        digest = key_digest(key)
        run_folder = self.folder_of(run_id)
        folder = run_folder / RECORDS_DIRNAME
        with storage_errors("prepare the idempotency records of a run"):
            if not folder.is_dir():
                folder.mkdir(exist_ok=True)
                fsync_dir(run_folder)
            fd = os.open(folder / f".lock-{int(digest[:8], 16) % LOCK_BUCKETS:02d}",
                         os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            self._lock(fd)
            path = folder / f"{digest}.json"
            yield FolderClaim(path, fingerprint, _read_record(path) or _read_record(path.with_suffix(".intent")))
        finally:
            os.close(fd)  # releases the flock

    def _lock(self, fd: int) -> None:
        deadline = time.monotonic() + self.wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise busy() from None
                time.sleep(POLL_SECONDS)


def entity_committed(entities: list[dict[str, Any]], intent: dict[str, Any], sha256: str | None = None) \
        -> list[dict[str, Any]]:
    """The entity records that a stopped call with ``intent`` may have committed: listed after the sequence the
    intent saw last, of its type and entity metadata (and content hash when given)."""
    after = intent.get("after", 0)
    return [entity for entity in entities
            if isinstance(entity.get("sequence"), int) and entity["sequence"] > after
            and entity.get("type") == intent.get("type") and entity.get("metadata") == intent.get("metadata")
            and (sha256 is None or entity.get("sha256") == sha256)]
