"""The one error tree of pipeline_recorder.

Every error the library raises on purpose is a ``RecorderError``; it knows nothing of HTTP (the HTTP layer maps
these classes to status codes in one table)::

    RecorderError
     ├── ValidationError            (also ValueError) bad input from the caller; nothing was written
     │    ├── InvalidRunIdError
     │    ├── InvalidEntityTypeError
     │    ├── InvalidFormatError
     │    ├── InvalidMetadataError
     │    ├── InvalidContentError   (also TypeError) content of a type that cannot be stored
     │    ├── ArchiveRefusedError   an archive to import is unsafe, incomplete or tampered; nothing was imported
     │    ├── ExportFormatError     an export file name ends neither in .zip nor in .tar.gz / .tgz
     │    ├── ConfigError           a pipeline config file is malformed (names the file and the field)
     │    └── InvalidRequestError   a pipeline request (execute body) lacks a field or has a malformed one
     ├── RunNotFoundError           (also LookupError) no such run in the store
     ├── EntityNotFoundError        (also LookupError) no such entity in the run
     ├── RunExistsError             a run with that id exists with other settings
     ├── RunFinishedError           the run has ended; it takes no more entities or states
     ├── CorruptRunError            a run's metadata.json is unreadable or not of the format
     ├── StorageError               (also OSError) the disk refused a write (full, read-only, ...)
     ├── NoThumbnailError           the entity is not of a kind that gets a thumbnail (text, audio, ...)
     │    └── ThumbnailRefusedError  its bytes are refused: a decompression bomb, too large, undecodable
     ├── UnknownConfigError         (also LookupError) the runner knows no pipeline config of that name
     ├── QueueFullError             the runner's queue of waiting runs is full; try again later
     ├── BackendError               a runner backend (embedded or HTTP) failed: down, timeout, bad answer
     ├── ServiceClosedError         the runner was shut down and takes no more work
     └── RemoteError                a recorder server refused a request for a reason of its own (token, size)
          └── ServerUnreachableError  the recorder server did not answer (a RemoteRecorder spools its writes)

The runner's errors live here too (``pipeline_recorder.runner`` re-exports them), so every layer can name them
without importing the runner.
"""

from __future__ import annotations


class RecorderError(Exception):
    """Base of every error pipeline_recorder raises on purpose."""


class ValidationError(RecorderError, ValueError):
    """Input from the caller was malformed; nothing was written."""


class InvalidRunIdError(ValidationError):
    """A run id does not match ``^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$``."""


class InvalidEntityTypeError(ValidationError):
    """An entity type does not match ``^[a-z][a-z0-9_]{0,63}$`` or is reserved."""


class InvalidFormatError(ValidationError):
    """An explicitly given format is not on the allow-list."""


class InvalidMetadataError(ValidationError):
    """Entity metadata is not a JSON-serialisable dict."""


class InvalidContentError(ValidationError, TypeError):
    """Content of a type that cannot be stored as an entity."""


class ArchiveRefusedError(ValidationError):
    """An archive was refused (unsafe, incomplete or tampered); nothing was written to the store."""


class ExportFormatError(ValidationError):
    """The export file name ends neither in .zip nor in .tar.gz / .tgz."""


class RunNotFoundError(RecorderError, LookupError):
    """No run with that id exists in the store."""


class EntityNotFoundError(RecorderError, LookupError):
    """The run has no entity of that type, index or filename."""


class RunExistsError(RecorderError):
    """A run with that id already exists with other settings."""


class RunFinishedError(RecorderError):
    """The run has already ended; it takes no more entities or state changes."""


class CorruptRunError(RecorderError):
    """A run's metadata.json cannot be read as the run format."""


class StorageError(RecorderError, OSError):
    """The file system refused a write (disk full, read-only store, permissions)."""


class NoThumbnailError(RecorderError):
    """The entity is not of a kind that gets a thumbnail (only images and videos do)."""


class ThumbnailRefusedError(NoThumbnailError):
    """An entity's bytes were refused for a thumbnail: a decompression bomb, too large, or undecodable."""


# -- errors of the pipeline runner ------------------------------------------------------------------------------


class ConfigError(ValidationError):
    """A pipeline config file is malformed; the message names the file and the field."""


class InvalidRequestError(ValidationError):
    """A pipeline request (the execute body) is missing a field or has a malformed one."""


class UnknownConfigError(RecorderError, LookupError):
    """No pipeline config of that name is known."""


class QueueFullError(RecorderError):
    """The runner's queue of waiting runs is full; the request was not accepted."""


class BackendError(RecorderError):
    """A backend failed to answer usefully (server down, timeout, error status, unparseable answer)."""

    def __init__(self, backend: str, message: str = "failed") -> None:
        super().__init__(f"{backend} backend: {message}")
        self.backend = backend


class ServiceClosedError(RecorderError):
    """The pipeline service has been shut down and accepts no more runs."""
class RemoteError(RecorderError):
    """A recorder server refused a request for a reason of its own (no or wrong token, too large, ...)."""


class ServerUnreachableError(RemoteError):
    """The recorder server could not be reached or kept failing; a RemoteRecorder spools its writes meanwhile."""
