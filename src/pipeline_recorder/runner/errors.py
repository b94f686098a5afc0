"""The runner's errors, re-exported: they are drawn and defined in the one error tree, ``pipeline_recorder.errors``
(so the HTTP layer maps them by class without importing the runner)."""

from __future__ import annotations

from ..errors import (
    BackendError,
    ConfigError,
    InvalidRequestError,
    QueueFullError,
    ServiceClosedError,
    UnknownConfigError,
)

__all__ = ["BackendError", "ConfigError", "InvalidRequestError", "QueueFullError", "ServiceClosedError",
           "UnknownConfigError"]
