"""The stages of one pipeline run, executed and recorded entity by entity (``run_pipeline`` prepares and ends it).

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
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import RecorderError, ValidationError
from ..formats import ALLOWED_FORMATS
from ..recorder import LivePipelineRecorder
from .backends.embedded import digest
from .backends.protocol import MediaRequest
from .backends.selection import Backends, select_backends
from .configs import PipelineConfig
from .errors import BackendError
from .outcome import ProgressCallback, RunEvent, RunOutcome
from .safety import TermLists, Verdict, check_level, parse_judgement
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

if TYPE_CHECKING:
    from ..remote.recorder import RemoteRecorder

log = logging.getLogger("pipeline_recorder.runner.pipeline")  # the runner's log, as before the split

# How a paced run waits: given seconds, returns early when the run is cancelled (the default waits on the cancel
# event); tests pass their own to see the pauses without spending them.
Pause = Callable[[float], object]



class Cancelled(Exception):
    """Raised at a stage boundary after a cancel request."""


class Blocked(Exception):
    def __init__(self, stage: Stage, verdict: Verdict) -> None:
        super().__init__(verdict.reason)
        self.stage, self.verdict = stage, verdict


class ActiveRun:
    """The state of one run while it executes: its recorder, where it is, and who listens."""

    def __init__(self, recorder: LivePipelineRecorder | RemoteRecorder, cancel_event: threading.Event | None,
                 progress: ProgressCallback | None, pace_ms: int = 0, pause: Pause | None = None) -> None:
        self.recorder = recorder
        self.cancel_event = cancel_event
        self.progress = progress
        self.stage: Stage = PIPELINE_STARTING
        self.backends: Backends | None = None
        self.pace_seconds = pace_ms / 1000
        self.pause = pause or (cancel_event or threading.Event()).wait

    def tell(self, kind: str, entity_type: str | None = None, status: str | None = None) -> None:
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
            raise Cancelled()

    def enter(self, stage: Stage) -> None:
        self.boundary()
        self.stage = stage
        self.recorder.set_state(stage.number, stage.name)
        self.tell("state")

    def save(self, entity_type: str, content: Any, metadata: dict[str, Any]) -> str:
        # Every entity says which stage made it, so a viewer's timeline needs no stage table of its own.
        filename = self.recorder.save_entity(entity_type, content, {"stage": self.stage.number, **metadata})
        self.tell("entity", entity_type)
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
        self.tell("status", status=status)


def judge(run: ActiveRun, stage_key: str, backends: Backends, text: str, level: str) -> Verdict:
    check = f"judge:{backends.text.name}"
    run.model(stage_key, backends.text.name, str(getattr(backends.text, "model", "")))
    try:
        answer = backends.text.judge(text, level=level)
    except BackendError as exc:
        return parse_judgement(f"undecidable: {exc}", level, check)
    return parse_judgement(answer, level, check)


def fail(run: ActiveRun, outcome: RunOutcome, status: str, error_type: str, message: str,
          details: dict[str, Any]) -> None:
    """Record why the run did not complete (an error entity with the stage) and end it with ``status``."""
    outcome.status, outcome.error, outcome.error_stage, outcome.error_type = status, message, run.stage.number, \
        error_type
    try:
        run.recorder.save_error(run.stage.number, error_type, message,
                                {**details, "stage_name": run.stage.name})
        run.tell("entity", "error")
    except RecorderError:
        log.exception("could not save the error entity of run %s", run.recorder.run_id)
    try:
        run.end(status, message)
    except RecorderError:
        log.exception("could not end run %s as %s", run.recorder.run_id, status)


def execute(run: ActiveRun, config: PipelineConfig, input_text: str, execution_mode: str, safety_level: str,
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
        verdict = verdict.merge(judge(run, "stage1_safety", backends, translated.text, safety_level))
    run.save("safety", verdict.to_entity(), {"checker": ",".join(verdict.checks) or "none"})
    if not verdict.safe:
        raise Blocked(TRANSLATION_AND_SAFETY, verdict)

    # Stage 2: the interception, ``iterations`` times (the telephone game passes the text on each time).
    run.enter(INTERCEPTION)
    text = translated.text
    # Each retelling's text, with its language where the backend says which (the viewer shows it per hop).
    chain: list[str | dict[str, str]] = []
    model_used = ""
    for iteration in range(config.iterations):
        if iteration:
            run.boundary()
        step = backends.text.transform(text, instruction=config.instruction, style=config.style,
                                       iteration=iteration)
        text, model_used = step.text, step.model
        language = step.details.get("language")
        chain.append({"text": text[:1000], "language": language} if isinstance(language, str) else text[:1000])
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
            check = check.merge(judge(run, "stage3_safety", backends, text, safety_level))
        run.save("safety_pre_output", check.to_entity(), {"output": kind, "checker": ",".join(check.checks) or "none"})
        if not check.safe:
            raise Blocked(PRE_OUTPUT_SAFETY, check)
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
