"""run_pipeline: one pipeline run, stages 0 to 4, recorded entity by entity with LivePipelineRecorder.

    Stage 0 pipeline_starting       input
    Stage 1 translation_and_safety  translation, safety          (blocked: + error, status blocked)
    Stage 2 interception            interception (config, iterations, model_used, backend_used)
    Stage 3 pre_output_safety       safety_pre_output per output (blocked: + error, status blocked)
    Stage 4 media_generation        output_image / output_audio / output_video

Every failure in any stage is saved as an ``error`` entity naming the stage and the cause, and the run ends
``failed``; a cancel request is honoured at the next stage boundary (``cancelled`` + an ``error`` entity).
Which backend and model ran each stage goes into the run's ``models_used`` as it runs: ``stage1_translation``,
``stage1_safety`` and ``stage3_safety`` (when a judge model checks), ``stage2_interception``, ``stage4_output_image``
(audio, video), each ``"backend/model"``.

>>> outcome = run_pipeline("stillepost", "Ein kleiner Hund", "eco", "kids", base_path=tmp)   # doctest: +SKIP
>>> outcome.status, outcome.run_folder.name == outcome.run_id                                 # doctest: +SKIP
('completed', True)
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import RecorderError, ValidationError
from ..formats import ALLOWED_FORMATS
from ..naming import new_run_id
from ..recorder import LivePipelineRecorder
from .backends.embedded import digest
from .backends.protocol import MediaRequest
from .backends.selection import Backends, select_backends
from .configs import MAX_PACE_MS, ConfigCatalog, PipelineConfig
from .errors import BackendError, InvalidRequestError
from .safety import SAFETY_LEVELS, SHIPPED_TERMS, TermLists, Verdict, check_level, parse_judgement
from .stages import (
    INTERCEPTION,
    MEDIA_GENERATION,
    PIPELINE_STARTING,
    PRE_OUTPUT_SAFETY,
    TRANSLATION_AND_SAFETY,
    Stage,
    media_entity_type,
)
from .stgb86a import check_stgb86a

log = logging.getLogger(__name__)

EXECUTION_MODES: tuple[str, ...] = ("eco", "fast")
MAX_INPUT_CHARACTERS = 20_000


@dataclass(frozen=True)
class RunEvent:
    """What a progress callback hears: a ``state`` change, an ``entity`` saved, or the final ``status``."""

    kind: str
    run_id: str
    stage: int
    step: str
    progress: str
    entity_type: str | None = None
    status: str | None = None


ProgressCallback = Callable[[RunEvent], None]
# How a paced run waits: given seconds, returns early when the run is cancelled (the default waits on the cancel
# event); tests pass their own to see the pauses without spending them.
Pause = Callable[[float], object]


@dataclass
class RunOutcome:
    """How a run ended. ``error``/``error_stage`` say why when it did not complete."""

    run_id: str
    status: str
    config_name: str
    run_folder: Path
    final_output: str | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    error_stage: int | None = None
    error_type: str | None = None
    safety: dict[str, Any] | None = None


class _Cancelled(Exception):
    """Raised at a stage boundary after a cancel request."""


class _Blocked(Exception):
    def __init__(self, stage: Stage, verdict: Verdict) -> None:
        super().__init__(verdict.reason)
        self.stage, self.verdict = stage, verdict


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


class _Run:
    """The state of one run while it executes: its recorder, where it is, and who listens."""

    def __init__(self, recorder: LivePipelineRecorder, cancel_event: threading.Event | None,
                 progress: ProgressCallback | None, pace_ms: int = 0, pause: Pause | None = None) -> None:
        self.recorder = recorder
        self.cancel_event = cancel_event
        self.progress = progress
        self.stage: Stage = PIPELINE_STARTING
        self.backends: Backends | None = None
        self.pace_seconds = pace_ms / 1000
        self.pause = pause or (cancel_event or threading.Event()).wait

    def _tell(self, kind: str, entity_type: str | None = None, status: str | None = None) -> None:
        if self.progress is None:
            return
        state = self.recorder.get_status()["current_state"]
        try:
            self.progress(RunEvent(kind, self.recorder.run_id, state["stage"], state["step"], state["progress"],
                                   entity_type, status))
        except Exception:  # a broken progress display must never break the run it displays
            log.exception("progress callback failed for run %s", self.recorder.run_id)

    def boundary(self) -> None:
        if self.cancel_event is not None and self.cancel_event.is_set():
            raise _Cancelled()

    def enter(self, stage: Stage) -> None:
        self.boundary()
        self.stage = stage
        self.recorder.set_state(stage.number, stage.name)
        self._tell("state")

    def save(self, entity_type: str, content: Any, metadata: dict[str, Any]) -> str:
        # Every entity says which stage made it, so a viewer's timeline needs no stage table of its own.
        filename = self.recorder.save_entity(entity_type, content, {"stage": self.stage.number, **metadata})
        self._tell("entity", entity_type)
        if self.pace_seconds:
            self.pause(self.pace_seconds)  # pacing: a class watches entities arrive; a cancel cuts the pause short
        return filename

    def model(self, stage_key: str, backend: str, model: str) -> None:
        """Record in ``models_used`` which backend and model ran a stage; a name the field does not accept is
        logged, never a reason to fail the run."""
        try:
            self.recorder.set_model(stage_key, f"{backend.lower()}/{model or 'default'}")
        except ValidationError as exc:
            log.warning("run %s: models_used[%r] not recorded: %s", self.recorder.run_id, stage_key, exc)

    def end(self, status: str, reason: str | None = None) -> None:
        self.recorder.finish(status, reason)
        self._tell("status", status=status)


def _judge(run: _Run, stage_key: str, backends: Backends, text: str, level: str) -> Verdict:
    check = f"judge:{backends.text.name}"
    run.model(stage_key, backends.text.name, str(getattr(backends.text, "model", "")))
    try:
        answer = backends.text.judge(text, level=level)
    except BackendError as exc:
        return parse_judgement(f"undecidable: {exc}", level, check)
    return parse_judgement(answer, level, check)


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
    base_path: str | os.PathLike[str] | None,
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
    once here; it names the run folder and is the only id of the run. ``pace_ms`` (default: the config's) pauses
    after each entity. Bad arguments raise ValidationError before anything is written.
    """
    if isinstance(config, str):
        config = ConfigCatalog().get(config)
    validate_run_settings(execution_mode, safety_level, input_text)
    pace = config.pace_ms if pace_ms is None else pace_ms
    if not isinstance(pace, int) or isinstance(pace, bool) or not 0 <= pace <= MAX_PACE_MS:
        raise InvalidRequestError(f"pace_ms must be an integer from 0 to {MAX_PACE_MS}, got {describe(pace)}")
    run_id = run_id or new_run_id()
    recorder = LivePipelineRecorder(run_id, config.name, execution_mode, safety_level, user_id, base_path,
                                    expected_outputs=config.expected_outputs(), session_id=session_id,
                                    device_id=device_id)
    run = _Run(recorder, cancel_event, progress, pace, pause)
    outcome = RunOutcome(run_id, "running", config.name, recorder.run_folder)
    try:
        _execute(run, config, input_text, execution_mode, safety_level, backends, term_lists, outcome)
    except _Cancelled:
        _fail(run, outcome, "cancelled", "cancelled",
              f"the run was cancelled at the boundary after stage {run.stage.number} ({run.stage.name})", {})
    except _Blocked as blocked:
        run.stage = blocked.stage
        outcome.safety = blocked.verdict.to_entity()
        _fail(run, outcome, "blocked", "blocked", blocked.verdict.reason or "blocked by the safety check",
              {"codes": blocked.verdict.codes, "level": safety_level})
    except BackendError as exc:
        _fail(run, outcome, "failed", "backend_error", str(exc), {"backend": exc.backend})
    except RecorderError as exc:
        _fail(run, outcome, "failed", type(exc).__name__, str(exc), {})
    except Exception as exc:  # any other failure is still recorded, never swallowed silently
        log.exception("run %s failed in stage %s", run_id, run.stage.number)
        _fail(run, outcome, "failed", type(exc).__name__, f"{type(exc).__name__}: {exc}", {})
    finally:
        if run.backends is not None and backends is None:
            _close(run.backends)  # we made them, we close them; callers' backends stay theirs
        recorder.close()
    return outcome


def _fail(run: _Run, outcome: RunOutcome, status: str, error_type: str, message: str,
          details: dict[str, Any]) -> None:
    """Record why the run did not complete (an error entity with the stage) and end it with ``status``."""
    outcome.status, outcome.error, outcome.error_stage, outcome.error_type = status, message, run.stage.number, \
        error_type
    try:
        run.recorder.save_error(run.stage.number, error_type, message,
                                {**details, "stage_name": run.stage.name})
        run._tell("entity", "error")
    except RecorderError:
        log.exception("could not save the error entity of run %s", run.recorder.run_id)
    try:
        run.end(status, message)
    except RecorderError:
        log.exception("could not end run %s as %s", run.recorder.run_id, status)


def _execute(run: _Run, config: PipelineConfig, input_text: str, execution_mode: str, safety_level: str,
             given: Backends | None, term_lists: TermLists, outcome: RunOutcome) -> None:
    # Stage 0: the input, exactly as given.
    run.enter(PIPELINE_STARTING)
    run.save("input", input_text, {"source": "request", "characters": len(input_text)})
    backends = given or select_backends(config, execution_mode)
    run.backends = backends

    # Stage 1: translation, then §86a over both the input and its translation.
    run.enter(TRANSLATION_AND_SAFETY)
    translated = backends.text.translate(input_text, target_language="en")
    run.model("stage1_translation", translated.backend, translated.model)
    run.save("translation", translated.text, {"backend": translated.backend, "model": translated.model,
                                              "backend_choice": backends.reason, **translated.details})
    verdict = check_stgb86a(input_text, safety_level, term_lists).merge(
        check_stgb86a(translated.text, safety_level, term_lists))
    if config.safety_judge and safety_level != "off":
        verdict = verdict.merge(_judge(run, "stage1_safety", backends, translated.text, safety_level))
    run.save("safety", verdict.to_entity(), {"checker": ",".join(verdict.checks) or "none"})
    if not verdict.safe:
        raise _Blocked(TRANSLATION_AND_SAFETY, verdict)

    # Stage 2: the interception, ``iterations`` times (the telephone game passes the text on each time).
    run.enter(INTERCEPTION)
    text = translated.text
    chain: list[str] = []
    model_used = ""
    for iteration in range(config.iterations):
        if iteration:
            run.boundary()
        step = backends.text.transform(text, instruction=config.instruction, style=config.style,
                                       iteration=iteration)
        text, model_used = step.text, step.model
        chain.append(text[:1000])
    run.model("stage2_interception", backends.text.name, model_used)
    run.save("interception", text, {"config": config.name, "iterations": config.iterations,
                                    "model_used": model_used, "backend_used": backends.text.name,
                                    "backend": backends.text.name, "chain": chain})
    outcome.final_output = text

    # Stages 3 and 4: each output is checked for the safety level before it is made.
    outputs = config.media or ("text",)
    for kind in outputs:
        run.enter(PRE_OUTPUT_SAFETY)
        check = check_stgb86a(text, safety_level, term_lists).merge(check_level(text, safety_level, term_lists))
        if config.safety_judge and safety_level != "off":
            check = check.merge(_judge(run, "stage3_safety", backends, text, safety_level))
        run.save("safety_pre_output", check.to_entity(), {"output": kind, "checker": ",".join(check.checks) or "none"})
        if not check.safe:
            raise _Blocked(PRE_OUTPUT_SAFETY, check)
        if kind == "text":
            continue
        run.enter(MEDIA_GENERATION)
        request = MediaRequest(kind=kind, prompt=text, seed=digest(config.name, text) % 2**31,
                               width=config.image_size[0], height=config.image_size[1], seconds=config.audio_seconds)
        media = backends.media.generate(request)
        entity_type = media_entity_type(kind)
        run.model(f"stage4_{entity_type}", media.backend, media.model)
        meta = {"backend": media.backend, "model": media.model, "prompt": text[:2000], "seed": request.seed,
                **media.details}
        if media.format in ALLOWED_FORMATS:
            meta["format"] = media.format  # a fallback only: the recorder detects the real format from the bytes
        outcome.outputs[entity_type] = run.save(entity_type, media.content, meta)
    run.boundary()
    run.end("completed")
    outcome.status = "completed"
