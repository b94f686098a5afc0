"""PipelineService: runs pipelines in a bounded worker pool, for the HTTP API or any other caller.

``execute(body)`` validates a request body (``request.parse_execute_body``) and returns a ``RunOutcome``: how the
run ended when the caller waited for it, or ``status == "running"`` when it did not wait (``"wait": false``) or
waited longer than ``max_wait_seconds``; the run goes on in the background either way. The service speaks of runs,
not of HTTP: the HTTP layer turns an outcome into a status code and URLs. Bad bodies raise InvalidRequestError,
an unknown schema UnknownConfigError, a full queue QueueFullError, a shut-down service ServiceClosedError.

No lock of the service is held across disk or backend work, so ``cancel`` and ``list_configs`` answer at once
however busy the workers are.

>>> service = PipelineService(base_path="/srv/runs", workers=2)                        # doctest: +SKIP
>>> outcome = service.execute({"schema": "stillepost", "input_text": "Test input",
...                            "execution_mode": "eco", "safety_level": "kids"})      # doctest: +SKIP
>>> outcome.status, outcome.final_output                                              # doctest: +SKIP
('completed', '...')
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import QueueFullError, RecorderError, ServiceClosedError, ValidationError
from ..naming import new_run_id, validate_run_id
from ..recorder import LivePipelineRecorder
from ..stores.folder import FolderStore
from .backends.selection import Backends
from .configs import ConfigCatalog
from .pipeline import RunOutcome, run_pipeline
from .request import ExecuteRequest, allowed_levels, parse_execute_body

log = logging.getLogger(__name__)

# How long ``execute`` holds its caller's thread for a run that asked to be waited for; after that the caller gets
# the running outcome (the HTTP API answers 202 with the run's URLs) and the run goes on.
MAX_WAIT_SECONDS = 120.0

WAITING, RUNNING, DONE = "waiting", "running", "done"
CANCEL_REASON = "the run was cancelled before it started"
SHUTDOWN_REASON = "the server shut down before the run started"


@dataclass
class _Job:
    run_id: str
    request: ExecuteRequest
    cancel_event: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    state: str = WAITING
    created: bool = False  # its run folder exists (submit made it)
    end_reason: str = ""  # why it ended before it started
    outcome: RunOutcome | None = None


class PipelineService:
    """A bounded pool of worker threads running pipelines; ``queue_size`` runs may wait for a free worker.

    ``min_safety_level`` is the least strict level a request may ask for (``"off"``: any; ``"adult"`` refuses
    ``off``); ``max_wait_seconds`` bounds how long ``execute`` waits for a run.
    """

    def __init__(self, base_path: str | os.PathLike[str] | None, config_dirs: Iterable[str | Path] = (),
                 workers: int = 2, queue_size: int = 32, *, backends: Backends | None = None,
                 min_safety_level: str = "off", max_wait_seconds: float = MAX_WAIT_SECONDS) -> None:
        if workers < 1 or queue_size < 1:
            raise ValidationError("workers and queue_size must be at least 1")
        if not 0 <= max_wait_seconds <= 3600:
            raise ValidationError(f"max_wait_seconds must be from 0 to 3600, got {max_wait_seconds}")
        allowed_levels(min_safety_level)  # a ValidationError naming the accepted levels
        self.store = FolderStore(base_path)
        self.base_path = self.store.base_path
        self.catalog = ConfigCatalog(config_dirs)
        self.min_safety_level = min_safety_level
        self.max_wait_seconds = max_wait_seconds
        self.queue_size = queue_size
        self._backends = backends
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._jobs: dict[str, _Job] = {}
        self._waiting = 0  # queued jobs not yet picked up, plus slots reserved by a submit in progress
        self._lock = threading.Lock()  # guards the fields above; never held across disk or backend work
        self._closed = False
        self._workers = [threading.Thread(target=self._work, name=f"pipeline-worker-{i}", daemon=True)
                         for i in range(workers)]
        for worker in self._workers:
            worker.start()

    def list_configs(self) -> list[dict[str, Any]]:
        """The configs this service runs (name, description, media, expected outputs, ...), sorted by name."""
        return self.catalog.summaries()

    def submit(self, body: object) -> _Job:
        """Validate ``body`` and queue its run; the run folder exists when this returns."""
        request = parse_execute_body(body, self.catalog, self.min_safety_level)
        job = _Job(new_run_id(), request)
        with self._lock:
            if self._closed:
                raise ServiceClosedError("the pipeline service is shutting down and accepts no more runs")
            if self._waiting >= self.queue_size:
                raise QueueFullError(f"{self.queue_size} runs are already waiting; try again when one has started")
            self._waiting += 1  # the slot is ours while the run folder is made, outside the lock
            self._jobs[job.run_id] = job  # known at once, so a cancel that comes now finds it
        try:
            # The run exists now, so its status URL answers at once, before a worker picks it up.
            LivePipelineRecorder(job.run_id, request.config.name, request.execution_mode, request.safety_level,
                                 request.user_id, self.base_path,
                                 expected_outputs=request.config.expected_outputs(), session_id=request.session_id,
                                 device_id=request.device_id).close()
        except BaseException:
            with self._lock:
                if job.state == WAITING:
                    self._waiting -= 1
                job.state = DONE
                self._jobs.pop(job.run_id, None)
            raise
        with self._lock:
            job.created = True
            ended = job.state == DONE  # cancelled, or the service shut down, while the folder was made
            closed = self._closed
            if not ended and closed:
                job.state, job.end_reason = DONE, SHUTDOWN_REASON
                self._waiting -= 1
            if not ended and not closed:
                self._queue.put(job)
        if ended or closed:
            self._end_unstarted(job)
            if job.end_reason == SHUTDOWN_REASON:
                raise ServiceClosedError("the pipeline service is shutting down and accepts no more runs")
        return job

    def execute(self, body: object) -> RunOutcome:
        """Run the pipeline a request body asks for; its outcome, or a ``running`` one (see the module docstring)."""
        job = self.submit(body)
        if job.request.wait and job.done.wait(self.max_wait_seconds) and job.outcome is not None:
            return job.outcome
        return RunOutcome(job.run_id, "running", job.request.config.name, self.store.run_folder(job.run_id))

    def cancel(self, run_id: str) -> dict[str, Any]:
        """Ask a run to stop at its next stage boundary (at once if it has not started). RunNotFoundError if no run
        of that id exists; a run that has already ended is reported as it ended."""
        validate_run_id(run_id)
        with self._lock:
            job = self._jobs.get(run_id)
            unstarted = job is not None and job.state == WAITING
            created = job is not None and job.created
            if job is not None:
                job.cancel_event.set()
                if unstarted:
                    job.state, job.end_reason = DONE, CANCEL_REASON  # the worker that takes it skips it
                    self._waiting -= 1
        if job is not None and unstarted:
            if created:  # else submit, still making the folder, records the cancel when it is made
                self._end_unstarted(job)
            return {"run_id": run_id, "status": "cancelled", "cancel_requested": True}
        status = self.store.read_metadata(run_id)["status"]  # RunNotFoundError for an unknown run
        if job is not None and status == "running":
            return {"run_id": run_id, "status": "cancelling", "cancel_requested": True}
        return {"run_id": run_id, "status": status, "cancel_requested": False,
                "reason": "the run is not running in this server" if status == "running" else "the run has ended"}

    def _end_unstarted(self, job: _Job) -> None:
        """Record that a run which never started was cancelled (called outside the lock)."""
        reason = job.end_reason
        outcome = RunOutcome(job.run_id, "cancelled", job.request.config.name, self.store.run_folder(job.run_id),
                             error=reason, error_stage=0, error_type="cancelled")
        try:
            recorder = LivePipelineRecorder.open(job.run_id, self.base_path)
            recorder.save_error(0, "cancelled", reason, {"stage_name": "pipeline_starting"})
            recorder.mark_cancelled(reason)
            recorder.close()
        except RecorderError:
            log.exception("could not record the cancellation of run %s", job.run_id)
        self._finish(job, outcome)

    def _finish(self, job: _Job, outcome: RunOutcome) -> None:
        job.outcome = outcome
        with self._lock:
            job.state = DONE
            self._jobs.pop(job.run_id, None)
        job.done.set()

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            with self._lock:
                if job.state != WAITING:  # cancelled while it waited
                    continue
                job.state = RUNNING
                self._waiting -= 1
            request = job.request
            try:
                outcome = run_pipeline(request.config, request.input_text, request.execution_mode,
                                       request.safety_level, base_path=self.base_path, user_id=request.user_id,
                                       run_id=job.run_id, cancel_event=job.cancel_event, backends=self._backends,
                                       pace_ms=request.pace_ms, session_id=request.session_id,
                                       device_id=request.device_id)
            except Exception as exc:  # run_pipeline records stage failures itself; this is the last guard
                log.exception("run %s could not be executed", job.run_id)
                outcome = RunOutcome(job.run_id, "failed", request.config.name, self.store.run_folder(job.run_id),
                                     error=f"{type(exc).__name__}: {exc}", error_type=type(exc).__name__)
            self._finish(job, outcome)

    def shutdown(self, timeout: float | None = 30.0) -> None:
        """Stop accepting runs, cancel waiting ones, ask running ones to stop, and wait for the workers."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            unstarted = [job for job in self._jobs.values() if job.state == WAITING]
            for job in self._jobs.values():
                job.cancel_event.set()
            for job in unstarted:
                job.state, job.end_reason = DONE, SHUTDOWN_REASON
                self._waiting -= 1
            made = [job for job in unstarted if job.created]  # submit ends the others once their folder exists
        for job in made:
            self._end_unstarted(job)
        for _ in self._workers:
            self._queue.put(None)
        for worker in self._workers:
            worker.join(timeout)

    def __enter__(self) -> PipelineService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
