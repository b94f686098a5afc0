"""PipelineService: runs pipelines for the HTTP API in a bounded worker pool.

``execute(body)`` validates a request body and answers ``(http_status, json_dict)`` the way the original host did:
200 ``{"status": "success", "run_id", "final_output", ...}`` when the run completes, 403 with ``run_id`` when a
safety check blocks it, 202 with ``run_id`` and the status and events URLs when ``"wait": false``. Bad bodies raise
InvalidRequestError (400), an unknown schema UnknownConfigError (404), a full queue QueueFullError (429).

>>> service = PipelineService(base_path="/srv/runs", workers=2)                        # doctest: +SKIP
>>> service.execute({"schema": "stillepost", "input_text": "Test input",
...                  "execution_mode": "eco", "safety_level": "kids"})                 # doctest: +SKIP
(200, {'status': 'success', 'run_id': '...', 'final_output': '...', ...})
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import RecorderError
from ..naming import new_run_id, validate_run_id
from ..recorder import LivePipelineRecorder
from ..stores.folder import FolderStore
from .backends.selection import Backends
from .configs import ConfigCatalog, PipelineConfig
from .errors import InvalidRequestError, QueueFullError, ServiceClosedError
from .pipeline import RunOutcome, run_pipeline, validate_run_settings
from .safety import DEFAULT_SAFETY_LEVEL

log = logging.getLogger(__name__)

BODY_FIELDS = ("schema", "input_text", "execution_mode", "safety_level", "user_id", "wait")
MAX_USER_ID = 128


@dataclass
class _Job:
    run_id: str
    config: PipelineConfig
    input_text: str
    execution_mode: str
    safety_level: str
    user_id: str
    cancel_event: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    started: bool = False
    outcome: RunOutcome | None = None


def run_urls(run_id: str) -> dict[str, str]:
    """The API URLs of a run, as every answer about a run gives them."""
    base = f"/api/pipeline/{run_id}"
    return {"status_url": f"{base}/status", "events_url": f"{base}/events", "entities_url": f"{base}/entities",
            "cancel_url": f"{base}/cancel"}


def parse_body(body: object, catalog: ConfigCatalog) -> tuple[PipelineConfig, str, str, str, str, bool]:
    """``(config, input_text, execution_mode, safety_level, user_id, wait)`` from a request body, or a 400/404."""
    if not isinstance(body, Mapping):
        raise InvalidRequestError(f"the request body must be a JSON object with {', '.join(BODY_FIELDS)}, "
                                  f"got {type(body).__name__}")
    missing = [name for name in ("schema", "input_text", "execution_mode") if name not in body]
    if missing:
        raise InvalidRequestError(f"the request body lacks {', '.join(missing)}; required are schema, input_text "
                                  "and execution_mode (safety_level, user_id and wait are optional)")
    schema = body["schema"]
    if not isinstance(schema, str) or not schema:
        raise InvalidRequestError(f"schema must be the name of a config, got {str(schema)[:40]!r}")
    mode = body["execution_mode"]
    level = body.get("safety_level", DEFAULT_SAFETY_LEVEL)
    text = body["input_text"]
    validate_run_settings(mode, level, text)
    user_id = body.get("user_id", "anonymous")
    if (not isinstance(user_id, str) or not user_id.strip() or len(user_id) > MAX_USER_ID
            or not user_id.isprintable()):
        raise InvalidRequestError(f"user_id must be a non-empty printable string of at most {MAX_USER_ID} "
                                  f"characters, got {str(user_id)[:40]!r}")
    wait = body.get("wait", True)
    if not isinstance(wait, bool):
        raise InvalidRequestError(f"wait must be true or false, got {str(wait)[:20]!r}")
    config = catalog.get(schema)  # UnknownConfigError (404) after the 400 checks: a bad body is a bad body
    return config, text, mode, level, user_id, wait


def answer(outcome: RunOutcome) -> tuple[int, dict[str, Any]]:
    """The HTTP status and body that report a finished run."""
    body: dict[str, Any] = {"run_id": outcome.run_id, "config_name": outcome.config_name,
                            "run_status": outcome.status, "final_output": outcome.final_output,
                            **run_urls(outcome.run_id)}
    if outcome.status == "completed":
        outputs = {kind: f"/api/pipeline/{outcome.run_id}/entity/{kind}" for kind in outcome.outputs}
        return 200, {"status": "success", **body, "outputs": outputs}
    body.update({"error": outcome.error, "stage": outcome.error_stage, "error_type": outcome.error_type})
    if outcome.status == "blocked":
        return 403, {"status": "blocked", **body, "codes": (outcome.safety or {}).get("codes", [])}
    if outcome.status == "cancelled":
        return 409, {"status": "cancelled", **body}
    # A backend that failed is a bad gateway; anything else is the runner's own failure.
    return (502 if outcome.error_type == "backend_error" else 500), {"status": "error", **body}


class PipelineService:
    """A bounded pool of worker threads running pipelines; ``queue_size`` runs may wait for a free worker."""

    def __init__(self, base_path: str | os.PathLike[str] | None, config_dirs: Iterable[str | Path] = (),
                 workers: int = 2, queue_size: int = 32, *, backends: Backends | None = None) -> None:
        if workers < 1 or queue_size < 1:
            raise ValueError("workers and queue_size must be at least 1")
        self.store = FolderStore(base_path)
        self.base_path = self.store.base_path
        self.catalog = ConfigCatalog(config_dirs)
        self._backends = backends
        self._queue: queue.Queue[_Job | None] = queue.Queue(maxsize=queue_size)
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()
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
        config, text, mode, level, user_id, _ = parse_body(body, self.catalog)
        job = _Job(new_run_id(), config, text, mode, level, user_id)
        with self._lock:
            if self._closed:
                raise ServiceClosedError("the pipeline service is shutting down and accepts no more runs")
            if self._queue.full():
                raise QueueFullError(f"{self._queue.maxsize} runs are already waiting; try again when one has "
                                     "started")
            # Create the run now so its status URL answers at once, before a worker picks it up.
            LivePipelineRecorder(job.run_id, config.name, mode, level, user_id, self.base_path,
                                 expected_outputs=config.expected_outputs()).close()
            self._jobs[job.run_id] = job
            self._queue.put_nowait(job)
        return job

    def execute(self, body: object) -> tuple[int, dict[str, Any]]:
        """Run the pipeline a request body asks for; ``(http_status, json_body)``. See the module docstring."""
        wait = body.get("wait", True) if isinstance(body, Mapping) else True
        job = self.submit(body)
        if wait is False:
            return 202, {"status": "accepted", "run_id": job.run_id, "config_name": job.config.name,
                         **run_urls(job.run_id)}
        job.done.wait()
        assert job.outcome is not None
        return answer(job.outcome)

    def cancel(self, run_id: str) -> dict[str, Any]:
        """Ask a run to stop at its next stage boundary (at once if it has not started). RunNotFoundError if no run
        of that id exists; a run that has already ended is reported as it ended."""
        validate_run_id(run_id)
        with self._lock:
            job = self._jobs.get(run_id)
            if job is not None and not job.started:
                job.started = True  # the worker will skip it
                job.cancel_event.set()
                self._end_unstarted(job, "the run was cancelled before it started")
                return {"run_id": run_id, "status": "cancelled", "cancel_requested": True}
        status = self.store.read_metadata(run_id)["status"]  # RunNotFoundError for an unknown run
        if job is not None and status == "running":
            job.cancel_event.set()
            return {"run_id": run_id, "status": "cancelling", "cancel_requested": True}
        return {"run_id": run_id, "status": status, "cancel_requested": False,
                "reason": "the run is not running in this server" if status == "running" else "the run has ended"}

    def _end_unstarted(self, job: _Job, reason: str) -> None:
        outcome = RunOutcome(job.run_id, "cancelled", job.config.name, self.store.run_folder(job.run_id),
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
        self._jobs.pop(job.run_id, None)
        job.done.set()

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            with self._lock:
                if job.started:  # cancelled while it waited
                    continue
                job.started = True
            try:
                outcome = run_pipeline(job.config, job.input_text, job.execution_mode, job.safety_level,
                                       base_path=self.base_path, user_id=job.user_id, run_id=job.run_id,
                                       cancel_event=job.cancel_event, backends=self._backends)
            except Exception as exc:  # run_pipeline records stage failures itself; this is the last guard
                log.exception("run %s could not be executed", job.run_id)
                outcome = RunOutcome(job.run_id, "failed", job.config.name, self.store.run_folder(job.run_id),
                                     error=f"{type(exc).__name__}: {exc}", error_type=type(exc).__name__)
            with self._lock:
                self._finish(job, outcome)

    def shutdown(self, timeout: float | None = 30.0) -> None:
        """Stop accepting runs, cancel waiting ones, ask running ones to stop, and wait for the workers."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for job in list(self._jobs.values()):
                if not job.started:
                    job.started = True
                    job.cancel_event.set()
                    self._end_unstarted(job, "the server shut down before the run started")
                else:
                    job.cancel_event.set()
        while True:
            with contextlib.suppress(queue.Empty):
                while True:
                    self._queue.get_nowait()  # the cancelled jobs left in it
            try:
                for _ in self._workers:
                    self._queue.put_nowait(None)
                break
            except queue.Full:
                continue
        for worker in self._workers:
            worker.join(timeout)

    def __enter__(self) -> PipelineService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


