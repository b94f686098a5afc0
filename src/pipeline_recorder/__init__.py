"""pipeline_recorder: a crash-safe, live, concurrent record of every generative-pipeline run.

>>> from pipeline_recorder import LivePipelineRecorder, new_run_id
>>> rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids")   # doctest: +SKIP
>>> rec.save_entity("input", "Hello world")                                  # doctest: +SKIP
'01_input.txt'
"""

from typing import TYPE_CHECKING, Any

from .errors import (
    CorruptRunError,
    EntityNotFoundError,
    InvalidContentError,
    InvalidEntityTypeError,
    InvalidFormatError,
    InvalidMetadataError,
    InvalidRunIdError,
    RecorderError,
    RemoteError,
    RunExistsError,
    RunFinishedError,
    RunNotFoundError,
    ServerUnreachableError,
    StorageError,
    ValidationError,
)
from .naming import KNOWN_ENTITY_TYPES, new_run_id, validate_entity_type, validate_run_id
from .recorder import DEFAULT_EXPECTED_OUTPUTS, LivePipelineRecorder
from .registry import get_recorder, load_recorder
from .stores import FolderStore, Store, open_store

RunStore = FolderStore  # the folder store's first name, kept for callers of 0.1

if TYPE_CHECKING:
    from .remote import RemoteRecorder

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # RemoteRecorder is imported on first use: it brings an HTTP client, which the core never loads.
    if name == "RemoteRecorder":
        from .remote import RemoteRecorder

        return RemoteRecorder
    raise AttributeError(f"module 'pipeline_recorder' has no attribute {name!r}")

__all__ = [
    "DEFAULT_EXPECTED_OUTPUTS",
    "KNOWN_ENTITY_TYPES",
    "CorruptRunError",
    "EntityNotFoundError",
    "FolderStore",
    "InvalidContentError",
    "InvalidEntityTypeError",
    "InvalidFormatError",
    "InvalidMetadataError",
    "InvalidRunIdError",
    "LivePipelineRecorder",
    "RecorderError",
    "RemoteError",
    "RemoteRecorder",
    "RunExistsError",
    "RunFinishedError",
    "RunNotFoundError",
    "RunStore",
    "ServerUnreachableError",
    "StorageError",
    "Store",
    "ValidationError",
    "__version__",
    "get_recorder",
    "load_recorder",
    "new_run_id",
    "open_store",
    "validate_entity_type",
    "validate_run_id",
]
