"""The one table from the error tree (``pipeline_recorder.errors``) to HTTP status codes, and the one function that
builds every JSON error body: ``{"error": "<what was wrong, and what is accepted>"}``."""

from __future__ import annotations

import logging
import sqlite3

from ..errors import (
    BackendError,
    CorruptRunError,
    EntityNotFoundError,
    NoThumbnailError,
    QueueFullError,
    RecorderError,
    RemoteError,
    RunExistsError,
    RunFinishedError,
    RunNotFoundError,
    ServerUnreachableError,
    ServiceClosedError,
    StorageError,
    ThumbnailRefusedError,
    UnknownConfigError,
    ValidationError,
)
from .response import Response, json_response

log = logging.getLogger("pipeline_recorder.http")


class UnavailableError(RecorderError):
    """A part this route needs is not installed or not running (the runner, the zip export)."""


class BodyTooLargeError(ValidationError):
    """A request body is longer than its route allows; it was not read past the limit."""


# The answers to a request that matches no route, the same from both adapters.
NO_SUCH_ROUTE = "no such route; the routes of this API are listed in its OpenAPI document, /openapi.json"
METHOD_NOT_ALLOWED = "method not allowed on this route"


# Most specific first; a class not listed falls to its nearest listed base.
STATUS_BY_ERROR: tuple[tuple[type[BaseException], int], ...] = (
    (QueueFullError, 429),  # the runner's errors
    (UnknownConfigError, 404),
    (ServiceClosedError, 503),
    (BackendError, 502),
    (BodyTooLargeError, 413),
    (ValidationError, 400),
    (RunNotFoundError, 404),
    (EntityNotFoundError, 404),
    (RunExistsError, 409),
    (RunFinishedError, 409),
    (CorruptRunError, 409),
    (ThumbnailRefusedError, 422),  # the entity is an image, but its bytes are refused (a bomb, undecodable)
    (NoThumbnailError, 415),  # the entity is not an image or a video
    (StorageError, 503),
    (UnavailableError, 503),
    (ServerUnreachableError, 503),  # this server records into another (PIPELINE_RECORDER_SERVER), which is down
    (RemoteError, 502),
    (sqlite3.Error, 503),  # the run index (a cache of the folders) could not be read or updated
    (OSError, 503),  # the disk failed a read: a condition of the server, not a bug
    (LookupError, 404),
    (ValueError, 400),
)


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """Every error answer of the API goes through here."""
    return json_response(status, {"error": message}, headers)


def status_for(exc: BaseException) -> int | None:
    """The status code for an error raised on purpose, or None for a bug (answered 500)."""
    for cls, status in STATUS_BY_ERROR:
        if isinstance(exc, cls):
            return status
    return None


def response_for(exc: BaseException) -> Response:
    """The JSON error answer for any exception; bugs are logged and answered with a 500 that reveals nothing."""
    status = status_for(exc)
    if status is None:
        log.error("unexpected error while answering a request", exc_info=exc)
        return error_response(500, "internal error; the server log has the details")
    message = str(exc) or type(exc).__name__
    if isinstance(exc, StorageError):
        message = exc.strerror or message
    headers = {"Retry-After": "1"} if status in (429, 503) else None
    if isinstance(exc, OSError) and not isinstance(exc, StorageError):
        message = f"the store could not be read: {exc.strerror or type(exc).__name__}"  # no server paths
    elif isinstance(exc, sqlite3.Error):
        message = f"the run index cannot be used right now ({exc}); the runs themselves are intact"
    elif not isinstance(exc, RecorderError | LookupError | ValueError):
        message = type(exc).__name__
    return error_response(status, message, headers)
