"""The pipeline runner: configs, stages 0-4, safety checks, backends, and the service behind the execute route.

>>> from pipeline_recorder.runner import run_pipeline
>>> outcome = run_pipeline("stillepost", "Test input", "eco", "kids", base_path=".")   # doctest: +SKIP
>>> outcome.status                                                                     # doctest: +SKIP
'completed'
"""

from . import errors
from .backends import Backends, select_backends
from .configs import ConfigCatalog, PipelineConfig
from .errors import *  # noqa: F403 -- the runner's errors, named once in errors.__all__
from .pipeline import EXECUTION_MODES, RunEvent, RunOutcome, run_pipeline
from .safety import SAFETY_LEVELS
from .service import PipelineService
from .stages import STAGES, Stage

__all__ = [
    "EXECUTION_MODES",
    "SAFETY_LEVELS",
    "STAGES",
    "Backends",
    "ConfigCatalog",
    "PipelineConfig",
    "PipelineService",
    "RunEvent",
    "RunOutcome",
    "Stage",
    "run_pipeline",
    "select_backends",
    *errors.__all__,
]
