"""Keeping the leases of this process's writers alive: one thread renews them all every third of the lease.

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
    """Renews the registered (run id, writer id) leases of one store until they are released."""

    def __init__(self, runs: SharedRuns) -> None:
        self._runs = runs
        self._held: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self, run_id: str, writer_id: str) -> None:
        with self._lock:
            self._held.add((run_id, writer_id))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="pipeline-recorder-leases", daemon=True)
                self._thread.start()

    def release(self, run_id: str, writer_id: str) -> None:
        with self._lock:
            self._held.discard((run_id, writer_id))

    def _run(self) -> None:
        while not self._stop.wait(max(self._runs.lease_seconds / 3, 0.05)):
            with self._lock:
                held = sorted(self._held)
            for run_id, writer_id in held:
                try:
                    self._runs.renew_lease(run_id, writer_id)
                except RecorderError as exc:
                    log.warning("could not renew the lease of run %s: %s", run_id, exc)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
