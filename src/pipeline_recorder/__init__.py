"""pipeline_recorder: a crash-safe, live, concurrent record of every generative-pipeline run.

>>> from pipeline_recorder import LivePipelineRecorder, new_run_id
>>> rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids")   # doctest: +SKIP
>>> rec.save_entity("input", "Hello world")                                  # doctest: +SKIP
'01_input.txt'
"""

from .errors import (
    CorruptRunError,
    EntityNotFoundError,
    InvalidContentError,
    InvalidEntityTypeError,
    InvalidFormatError,
    InvalidMetadataError,
    InvalidRunIdError,
    RecorderError,
    RunExistsError,
    RunFinishedError,
    RunNotFoundError,
    StorageError,
    ValidationError,
)
from .naming import KNOWN_ENTITY_TYPES, new_run_id, validate_entity_type, validate_run_id
from .recorder import DEFAULT_EXPECTED_OUTPUTS, LivePipelineRecorder
from .registry import get_recorder, load_recorder
from .stores import FolderStore, Store, open_store

RunStore = FolderStore  # the folder store's first name, kept for callers of 0.1

__version__ = "0.1.0"

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
    "RunExistsError",
    "RunFinishedError",
    "RunNotFoundError",
    "RunStore",
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
