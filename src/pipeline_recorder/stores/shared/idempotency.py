"""The shared store's idempotency ledger: the records of keyed writes in PostgreSQL, so that a retry through any
replica gets the answer the first call gave -- also while that call still runs on another replica, and after any
replica restarted.

One call per key at a time, across machines: a call holds a PostgreSQL advisory lock named by the run and the key
for as long as it runs, on a connection of its own pool (so that calls waiting for keys can never take the
connections that writes need to commit). A retry polls for the lock (up to ``wait_seconds``, then
``IdempotencyBusyError``: HTTP 409 with ``Retry-After``). The lock is the session's, so a replica killed mid-call
frees it with its connection. The records (``idempotency_records``, migration 2) are written with autocommit: an
intent is committed before the entity it announces is, and rows go with their run (``ON DELETE CASCADE``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Iterator
from typing import Any

from psycopg_pool import ConnectionPool

from ...idempotency import (
    DEFAULT_WAIT_SECONDS,
    POLL_SECONDS,
    Claim,
    IdempotencyLedger,
    busy,
    key_digest,
)
from .database import Database, database_errors

# Calls holding keys at once per process; a further keyed call waits for a free lock connection.
LOCK_CONNECTIONS = 32
_CONNECT_TIMEOUT = 3


def lock_id(run_id: str, digest: str) -> int:
    """The advisory lock of one key of one run: 64 bits of their hash (another key sharing it only waits)."""
    return int.from_bytes(hashlib.sha256(f"{run_id} {digest}".encode()).digest()[:8], "big", signed=True)


class SharedClaim(Claim):
    def __init__(self, db: Database, run_id: str, digest: str, fingerprint: str,
                 record: dict[str, Any] | None) -> None:
        super().__init__(digest, fingerprint, record)
        self._db, self._run_id, self._full_digest = db, run_id, digest

    def _save(self, what: str, status: int | None, body: Any) -> None:
        intent = json.dumps(self.intent, ensure_ascii=False) if self.intent is not None else None
        with self._db.connection(f"record the {what} of an idempotent request") as conn:
            conn.execute(
                "INSERT INTO idempotency_records (run_id, key_digest, fingerprint, intent, status, body) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (run_id, key_digest) DO UPDATE SET "
                "intent = EXCLUDED.intent, status = EXCLUDED.status, body = EXCLUDED.body",
                (self._run_id, self._full_digest, self._fingerprint, intent, status,
                 json.dumps(body, ensure_ascii=False) if status is not None else None))

    def _save_intent(self, intent: dict[str, Any]) -> None:
        self.intent = intent
        self._save("intent", None, None)

    def _save_answer(self, status: int, body: Any) -> None:
        self._save("answer", status, body)


class SharedIdempotency(IdempotencyLedger):
    """The idempotency records of one shared store (its database)."""

    def __init__(self, db: Database, wait_seconds: float = DEFAULT_WAIT_SECONDS) -> None:
        self._db = db
        self.wait_seconds = wait_seconds
        self._locks = ConnectionPool(db.url, min_size=0, max_size=LOCK_CONNECTIONS, open=False,
                                     timeout=wait_seconds,
                                     kwargs={"autocommit": True, "connect_timeout": _CONNECT_TIMEOUT,
                                             "application_name": f"pipeline-recorder {os.getpid()} keys"},
                                     check=ConnectionPool.check_connection, name="pipeline-recorder-keys")
        self._locks.open(wait=False)  # no connection yet (min_size 0): the first keyed call makes one

    @contextlib.contextmanager
    def claim(self, run_id: str, key: str, fingerprint: str) -> Iterator[Claim]:
        digest = key_digest(key)
        lock = lock_id(run_id, digest)
        with database_errors("hold an Idempotency-Key"), self._locks.connection() as conn:
            deadline = time.monotonic() + self.wait_seconds
            while not conn.execute("SELECT pg_try_advisory_lock(%s)", (lock,)).fetchone()[0]:  # type: ignore[index]
                if time.monotonic() >= deadline:
                    raise busy()
                time.sleep(POLL_SECONDS)
            try:
                yield SharedClaim(self._db, run_id, digest, fingerprint, self._record(run_id, digest))
            finally:
                try:
                    conn.execute("SELECT pg_advisory_unlock(%s)", (lock,))
                except Exception:
                    conn.close()  # a connection that may still hold the lock never goes back to the pool
                    raise

    def _record(self, run_id: str, digest: str) -> dict[str, Any] | None:
        with self._db.connection("read the record of an Idempotency-Key") as conn:
            row = conn.execute("SELECT fingerprint, intent, status, body FROM idempotency_records "
                               "WHERE run_id = %s AND key_digest = %s", (run_id, digest)).fetchone()
        if row is None:
            return None
        fingerprint, intent, status, body = row
        return {"fingerprint": fingerprint, "intent": json.loads(intent) if intent is not None else None,
                "status": status, "body": json.loads(body) if body is not None else None}

    def close(self) -> None:
        self._locks.close()
