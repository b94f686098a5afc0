"""Keeping the leases of this process's writers alive: one thread renews them all, each every third of its lease.

A writer's lease is also renewed by every change it commits; this thread covers the quiet times (a stage waiting
for a model for minutes). When the process dies the renewals stop and, once the lease has run out, the run reads
as ``interrupted`` on every machine. A renewal that fails (the database unreachable) is logged and tried again at
the next beat: the lease may lapse meanwhile, and the next write takes it again.
"""

from __future__ import annotations

import logging
import threading

from ...errors import RecorderError
from .runs import SharedRuns

log = logging.getLogger(__name__)


class LeaseKeeper:
    """Renews the held (run id, holder) leases of one store until they are released."""

    def __init__(self, runs: SharedRuns) -> None:
        self._runs = runs
        self._held: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None

    def hold(self, run_id: str, holder: str, ttl: float) -> None:
        with self._lock:
            self._held[(run_id, holder)] = ttl
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name="pipeline-recorder-leases", daemon=True)
                self._thread.start()

    def release(self, run_id: str, holder: str) -> bool:
        """Stop renewing; whether it was held."""
        with self._lock:
            return self._held.pop((run_id, holder), None) is not None

    def _run(self) -> None:
        while True:
            with self._lock:
                held = dict(self._held)
            beat = min([ttl / 3 for ttl in held.values()] or [1.0])
            if self._wake.wait(max(beat, 0.05)) and self._closed:
                return
            for (run_id, holder), ttl in held.items():
                with self._lock:
                    if (run_id, holder) not in self._held:
                        continue
                try:
                    with self._runs.db.connection(f"renew the lease of run {run_id!r}") as conn, \
                            conn.transaction():
                        self._runs.renew_lease(conn, run_id, holder, ttl)
                except RecorderError as exc:
                    log.warning("could not renew the lease of run %s: %s", run_id, exc)

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
