"""The HTTP layer's link to parts that live in other packages: the pipeline runner and the zip export.

Both are imported when first needed, so the API serves recorded runs even where they are absent; a route that
needs a missing part answers 503 saying which.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator
from typing import Any, Protocol, cast

from ..stores.base import Store
from .errors import UnavailableError
from .settings import Settings


class PipelineServiceLike(Protocol):
    """What the HTTP layer uses of ``pipeline_recorder.runner.service.PipelineService``."""

    def list_configs(self) -> list[dict[str, Any]]: ...
    def execute(self, body: object) -> tuple[int, dict[str, Any]]: ...
    def cancel(self, run_id: str) -> dict[str, Any]: ...
    def shutdown(self) -> None: ...


class RunnerLink:
    """Creates the pipeline service on first use (one per server) and shuts it down with the server."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
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
                    self.settings.base_path, config_dirs=self.settings.config_dirs, workers=self.settings.workers))
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
