"""run_pipeline: one pipeline run, stages 0 to 4, recorded entity by entity with LivePipelineRecorder: its
settings checked, its recorder opened, its stages run (``execution.py``), its failure recorded and its backends
closed; what it tells while and after it runs: ``outcome.py``.

>>> outcome = run_pipeline("stillepost", "Ein kleiner Hund", "eco", "kids", base_path=tmp)   # doctest: +SKIP
>>> outcome.status, outcome.run_folder.name == outcome.run_id                                 # doctest: +SKIP
('completed', True)
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading

from ..errors import RecorderError
from ..naming import new_run_id
from ..registry import open_recorder
from ..stores import Store
from .backends.selection import Backends
from .configs import MAX_PACE_MS, ConfigCatalog, PipelineConfig
from .errors import BackendError, InvalidRequestError
from .execution import ActiveRun, Blocked, Cancelled, Pause, execute, fail
from .outcome import ProgressCallback, RunEvent, RunOutcome, started_outcome
from .safety import SAFETY_LEVELS, SHIPPED_TERMS, TermLists

# The run's events and outcome are the runner's public names here too (``from ...pipeline import RunOutcome``).
__all__ = ["EXECUTION_MODES", "MAX_INPUT_CHARACTERS", "Pause", "ProgressCallback", "RunEvent", "RunOutcome",
           "describe", "run_pipeline", "started_outcome", "validate_run_settings"]

log = logging.getLogger(__name__)

EXECUTION_MODES: tuple[str, ...] = ("eco", "fast")
MAX_INPUT_CHARACTERS = 20_000


def describe(value: object) -> str:
    """A short, safe description of a caller's value for an error message (never str() of a nested value)."""
    if isinstance(value, str):
        return repr(value[:40])
    if value is None or isinstance(value, bool | int | float):
        return repr(value)[:40]
    return f"a {type(value).__name__}"


def validate_run_settings(execution_mode: object, safety_level: object, input_text: object) -> None:
    """InvalidRequestError (nothing recorded) for an unknown mode or level or an unusable input text."""
    if not isinstance(execution_mode, str) or execution_mode not in EXECUTION_MODES:
        raise InvalidRequestError(f"execution_mode must be one of {', '.join(EXECUTION_MODES)}, "
                                  f"got {describe(execution_mode)}")
    if not isinstance(safety_level, str) or safety_level not in SAFETY_LEVELS:
        raise InvalidRequestError(f"safety_level must be one of {', '.join(SAFETY_LEVELS)}, "
                                  f"got {describe(safety_level)}")
    if not isinstance(input_text, str) or not input_text.strip():
        raise InvalidRequestError("input_text must be a non-empty string")
    try:
        input_text.encode("utf-8")
    except UnicodeEncodeError as exc:
        # A lone surrogate ("\ud800" in JSON) is no text: stored, it would make the run unreadable as UTF-8.
        raise InvalidRequestError(f"input_text holds U+{ord(input_text[exc.start]):04X} at position {exc.start}, "
                                  "a lone surrogate that is not text; send valid Unicode (UTF-8) text") from None
    if len(input_text) > MAX_INPUT_CHARACTERS:
        raise InvalidRequestError(f"input_text has {len(input_text)} characters; at most {MAX_INPUT_CHARACTERS} "
                                  "are accepted")
    if "\0" in input_text:
        raise InvalidRequestError("input_text must not contain NUL characters")


def _close(backends: Backends) -> None:
    for backend in (backends.text, backends.media):
        close = getattr(backend, "close", None)
        if callable(close):
            with contextlib.suppress(Exception):
                close()


def run_pipeline(
    config: PipelineConfig | str,
    input_text: str,
    execution_mode: str,
    safety_level: str,
    *,
    base_path: Store | str | os.PathLike[str] | None,
    user_id: str = "anonymous",
    run_id: str | None = None,
    cancel_event: threading.Event | None = None,
    backends: Backends | None = None,
    progress: ProgressCallback | None = None,
    term_lists: TermLists = SHIPPED_TERMS,
    pace_ms: int | None = None,
    pause: Pause | None = None,
    session_id: str | None = None,
    device_id: str | None = None,
) -> RunOutcome:
    """Run one pipeline from stage 0 to 4 and record it; returns how it ended (never raises for a stage failure).

    ``config`` is a PipelineConfig or the name of a shipped config. The run id is ``run_id`` or a new UUID, made
    once here; it names the run folder and is the only id of the run. The run is recorded into ``base_path``'s
    store (a folder, a store URL such as ``s3://...``, or a Store), or through the recorder server of
    ``PIPELINE_RECORDER_SERVER`` when that is set. ``pace_ms`` (default: the config's) pauses
    after each entity. Bad arguments raise ValidationError before anything is written.
    """
    if isinstance(config, str):
        config = ConfigCatalog().get(config)
    validate_run_settings(execution_mode, safety_level, input_text)
    pace = config.pace_ms if pace_ms is None else pace_ms
    if not isinstance(pace, int) or isinstance(pace, bool) or not 0 <= pace <= MAX_PACE_MS:
        raise InvalidRequestError(f"pace_ms must be an integer from 0 to {MAX_PACE_MS}, got {describe(pace)}")
    run_id = run_id or new_run_id()
    # Recorded remotely when PIPELINE_RECORDER_SERVER names a recorder server, else into base_path's store.
    recorder = open_recorder(run_id, config.name, execution_mode, safety_level, user_id, base_path,
                             expected_outputs=config.expected_outputs(), session_id=session_id,
                             device_id=device_id)
    run = ActiveRun(recorder, cancel_event, progress, pace, pause)
    outcome = started_outcome(recorder, config.name)
    try:
        execute(run, config, input_text, execution_mode, safety_level, backends, term_lists, outcome)
    except Cancelled:
        fail(run, outcome, "cancelled", "cancelled",
              f"the run was cancelled at the boundary after stage {run.stage.number} ({run.stage.name})", {})
    except Blocked as blocked:
        run.stage = blocked.stage
        outcome.safety = blocked.verdict.to_entity()
        fail(run, outcome, "blocked", "blocked", blocked.verdict.reason or "blocked by the safety check",
              {"codes": blocked.verdict.codes, "level": safety_level})
    except BackendError as exc:
        fail(run, outcome, "failed", "backend_error", str(exc), {"backend": exc.backend})
    except RecorderError as exc:
        fail(run, outcome, "failed", type(exc).__name__, str(exc), {})
    except Exception as exc:  # any other failure is still recorded, never swallowed silently
        log.exception("run %s failed in stage %s", run_id, run.stage.number)
        fail(run, outcome, "failed", type(exc).__name__, f"{type(exc).__name__}: {exc}", {})
    finally:
        if run.backends is not None and backends is None:
            _close(run.backends)  # we made them, we close them; callers' backends stay theirs
        recorder.close()
    return outcome


