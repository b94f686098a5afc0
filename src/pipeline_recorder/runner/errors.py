"""Errors of the runner, each a subclass of the library's one error tree (``pipeline_recorder.errors``)::

    RecorderError
     ├── ValidationError
     │    ├── ConfigError             a pipeline config file is malformed (names the file and the field)
     │    └── InvalidRequestError     an execute request body is missing or has a malformed field
     ├── UnknownConfigError           (also LookupError) no config of that name is known
     ├── QueueFullError               the worker pool's queue is full; try again later
     ├── BackendError                 a backend (embedded or HTTP) failed: down, timeout, bad answer
     └── ServiceClosedError           the service was shut down and takes no more work
"""

from __future__ import annotations

from ..errors import RecorderError, ValidationError


class ConfigError(ValidationError):
    """A pipeline config file is malformed; the message names the file and the field."""


class InvalidRequestError(ValidationError):
    """An execute request body is missing a field or has a malformed one."""


class UnknownConfigError(RecorderError, LookupError):
    """No pipeline config of that name is known."""


class QueueFullError(RecorderError):
    """The service's queue of waiting runs is full; the request was not accepted."""


class BackendError(RecorderError):
    """A backend failed to answer usefully (server down, timeout, error status, unparseable answer)."""

    def __init__(self, backend: str, message: str) -> None:
        super().__init__(f"{backend} backend: {message}")
        self.backend = backend


class ServiceClosedError(RecorderError):
    """The pipeline service has been shut down and accepts no more runs."""
