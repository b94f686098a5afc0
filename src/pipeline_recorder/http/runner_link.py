"""The HTTP layer's link to parts that live in other packages: the pipeline runner and the zip export.

Both are imported when first needed, so the API serves recorded runs even where they are absent; a route that
needs a missing part answers 503 saying which. The runner answers with domain outcomes (how a run ended, or that
it is still running); the status codes and URLs of those answers are made here, the one place that knows both.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator, Mapping
from typing import Any, Protocol, cast

from ..stores.base import Store
from .errors import UnavailableError
from .routes import url_for
from .settings import Settings


class RunOutcomeLike(Protocol):
    """What the HTTP layer reads of ``pipeline_recorder.runner.RunOutcome``."""

    run_id: str
    status: str
    config_name: str
    final_output: str | None
    outputs: Mapping[str, str]
    error: str | None
    error_stage: int | None
    error_type: str | None
    safety: Mapping[str, Any] | None
    server: str | None  # the recorder server that holds the run (a worker recording remotely), else None


class PipelineServiceLike(Protocol):
    """What the HTTP layer uses of ``pipeline_recorder.runner.service.PipelineService``."""

    def list_configs(self) -> list[dict[str, Any]]: ...
    def execute(self, body: object) -> RunOutcomeLike: ...
    def cancel(self, run_id: str) -> dict[str, Any]: ...
    def shutdown(self) -> None: ...


# The status code of each way a run can be reported: still running (not waited for, or waited too long), or ended.
STATUS_BY_OUTCOME = {"running": 202, "completed": 200, "blocked": 403, "cancelled": 409}
BODY_STATUS_BY_OUTCOME = {"running": "accepted", "completed": "success", "blocked": "blocked",
                          "cancelled": "cancelled"}


def run_urls(run_id: str, root: str = "") -> dict[str, str]:
    """The API URLs of a run, as every answer about a run gives them (``root``: where the API is mounted)."""
    return {f"{name}_url": url_for(name, root, run_id=run_id) for name in ("status", "events", "entities", "cancel")}


def outcome_answer(outcome: RunOutcomeLike, root: str = "") -> tuple[int, dict[str, Any]]:
    """The status code and JSON body that report a run outcome of the execute route. A run recorded through
    another server (this one a worker) is read there: its URLs, but the cancel URL, are that server's."""
    urls = run_urls(outcome.run_id, root)
    if outcome.server is not None:
        urls = {**run_urls(outcome.run_id, outcome.server), "cancel_url": urls["cancel_url"]}
        root = outcome.server
    body: dict[str, Any] = {"status": BODY_STATUS_BY_OUTCOME.get(outcome.status, "error"), "run_id": outcome.run_id,
                            "config_name": outcome.config_name, **urls}
    if outcome.status == "running":
        return 202, body
    body.update({"run_status": outcome.status, "final_output": outcome.final_output})
    if outcome.status == "completed":
        body["outputs"] = {kind: url_for("entity", root, run_id=outcome.run_id, entity_type=kind)
                           for kind in outcome.outputs}
        return 200, body
    body.update({"error": outcome.error, "stage": outcome.error_stage, "error_type": outcome.error_type})
    if outcome.status == "blocked":
        body["codes"] = list((outcome.safety or {}).get("codes", []))
    # A backend that failed is a bad gateway; any other failure is the runner's own.
    default = 502 if outcome.error_type == "backend_error" else 500
    return STATUS_BY_OUTCOME.get(outcome.status, default), body


class RunnerLink:
    """Creates the pipeline service on first use (one per server) and shuts it down with the server."""

    def __init__(self, settings: Settings, store: Store | None = None) -> None:
        self.settings = settings
        self.store = store  # the server's store, which the runner records into (else the folder at base_path)
        self._lock = threading.Lock()
        self._service: PipelineServiceLike | None = None
        self._closed = False

    def service(self) -> PipelineServiceLike:
        with self._lock:
            if self._closed:
                raise UnavailableError("the server is shutting down; the runner takes no more requests")
            if self._service is None:
                try:
                    module = importlib.import_module("pipeline_recorder.runner.service")
                except ImportError as exc:
                    raise UnavailableError(f"the pipeline runner is not available in this installation: {exc}") \
                        from exc
                self._service = cast(PipelineServiceLike, module.PipelineService(
                    self.store or self.settings.base_path, config_dirs=self.settings.config_dirs,
                    workers=self.settings.workers, min_safety_level=self.settings.min_safety_level))
            return self._service

    def zip_export(self, store: Store, run_id: str) -> Iterator[bytes]:
        try:
            module = importlib.import_module("pipeline_recorder.ops.archive")
        except ImportError as exc:
            raise UnavailableError(f"zip export is not available in this installation: {exc}") from exc
        return cast(Iterator[bytes], module.iter_zip_export(store, [run_id]))

    def close(self) -> None:
        with self._lock:
            self._closed = True
            service, self._service = self._service, None
        if service is not None:
            service.shutdown()
