"""Live changes between replicas: a follower of a run on this process wakes when any machine commits a change of
that run (PostgreSQL NOTIFY, sent by the committing transaction and delivered only once it has committed).

``ChangeHub.wait(run_id, seen, timeout)`` returns as soon as a revision newer than ``seen`` was committed, or the
notification channel was lost and re-established (a change may have been missed: read again), or after
``timeout`` (readers then read again anyway, e.g. to see a lease lapse).
"""

from __future__ import annotations

import threading

from .database import Listener


class ChangeHub:
    """One listener per store and process; any number of followers."""

    def __init__(self, database_url: str) -> None:
        self._cond = threading.Condition()
        self._watched: dict[str, int] = {}  # run id -> number of followers
        self._latest: dict[str, int] = {}  # newest revision notified, for watched runs only
        self._epoch = 0  # counts re-established notification channels
        self._listener = Listener(database_url, self._on_change)

    def wait_ready(self, timeout: float = 10.0) -> bool:
        return self._listener.wait_ready(timeout)

    def _on_change(self, run_id: str | None, revision: int) -> None:
        with self._cond:
            if run_id is None:
                self._epoch += 1
            elif run_id in self._watched:
                self._latest[run_id] = max(self._latest.get(run_id, 0), revision)
            else:
                return
            self._cond.notify_all()

    def watch(self, run_id: str) -> None:
        """Start following a run (call before reading it, so no change after the read is missed)."""
        with self._cond:
            self._watched[run_id] = self._watched.get(run_id, 0) + 1

    def unwatch(self, run_id: str) -> None:
        with self._cond:
            left = self._watched.get(run_id, 0) - 1
            if left > 0:
                self._watched[run_id] = left
            else:
                self._watched.pop(run_id, None)
                self._latest.pop(run_id, None)

    def wait(self, run_id: str, seen: int, timeout: float) -> bool:
        """Whether a revision newer than ``seen`` (or a possibly missed change) arrived within ``timeout``."""
        with self._cond:
            epoch = self._epoch
            return self._cond.wait_for(lambda: self._latest.get(run_id, 0) > seen or self._epoch != epoch, timeout)

    def close(self) -> None:
        self._listener.close()
