"""Live changes between replicas: a subscriber of a run on this process is woken when any machine commits a change
of that run (PostgreSQL NOTIFY, sent by the committing transaction and delivered only once it has committed).

When the notification connection is lost and re-established, every subscriber is woken once: a change may have
been missed meanwhile, and readers read again (they only fetch what is new).
"""

from __future__ import annotations

import logging
import threading

from ...errors import StorageError
from ..values import Wake
from .database import Listener

log = logging.getLogger(__name__)
_READY_TIMEOUT = 10.0


class ChangeHub:
    """One LISTEN connection per store and process; any number of subscribers per run."""

    def __init__(self, database_url: str) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[str, list[Wake]] = {}
        self._listener = Listener(database_url, self._on_change)

    def _on_change(self, run_id: str | None, revision: int) -> None:
        with self._lock:
            if run_id is None:
                wakes = [wake for wakes in self._subscribers.values() for wake in wakes]
            else:
                wakes = list(self._subscribers.get(run_id, ()))
        for wake in wakes:
            try:
                wake()
            except Exception:  # one subscriber's failure must not keep the others asleep
                log.exception("a change subscriber failed")

    def subscribe(self, run_id: str, wake: Wake) -> None:
        """Call ``wake`` for every committed change of the run from now on. StorageError when the notification
        connection cannot be set up (changes would be missed)."""
        if not self._listener.wait_ready(_READY_TIMEOUT):
            raise StorageError(0, "could not follow changes: the database's notifications cannot be received")
        with self._lock:
            self._subscribers.setdefault(run_id, []).append(wake)

    def unsubscribe(self, run_id: str, wake: Wake) -> None:
        with self._lock:
            wakes = self._subscribers.get(run_id, [])
            if wake in wakes:
                wakes.remove(wake)
            if not wakes:
                self._subscribers.pop(run_id, None)

    def close(self) -> None:
        self._listener.close()
