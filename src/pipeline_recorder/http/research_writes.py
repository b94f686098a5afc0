"""The write routes of the research record (the run fields of runfields.py, the prompting process), as handlers of
the same ``Writes`` of a server (writes.py: admission, the writer's lease, idempotency, error answers):

| route | body | answer |
|---|---|---|
| ``PUT /api/pipeline/{run_id}/model`` | ``{"stage_key", "model"}`` | 200 ``{"run_id", "models_used"}`` |
| ``PUT /api/pipeline/{run_id}/annotations`` | ``{"notes"?, "tags"?}`` | 200 ``{"run_id", "notes", "tags"}`` |
| ``POST /api/pipeline/{run_id}/process/{entity_type}`` | the content, streamed | 201 ``{"run_id", "step"}`` |

A step of the prompting process takes its content and metadata as an entity does. Its ``Idempotency-Key`` answers
a retry with the first answer; unlike an entity, a step whose server was killed between its commit and recording
that answer may be saved again by the retry (it is then listed twice, never lost).
"""

from __future__ import annotations

from typing import Any

from ..errors import RunNotFoundError, ValidationError
from ..recorder import LivePipelineRecorder
from .bodies import json_object, read_limited
from .request import Request
from .response import Response, json_response
from .writes import Writes

ANNOTATIONS_LIMIT = 100_000  # notes of 10,000 characters, escaped, and 32 tags fit many times over


class ResearchWrites(Writes):
    """The write handlers of one server, with those of the research record."""

    def set_model(self, request: Request) -> Response:
        """PUT /api/pipeline/{run_id}/model: ``{"stage_key", "model"}`` -> the run's ``models_used``."""
        return self.status_write(request, "model", ("stage_key", "model"), LivePipelineRecorder.set_model,
                                 "models_used")

    def annotate(self, request: Request) -> Response:
        """PUT /api/pipeline/{run_id}/annotations: ``{"notes"?, "tags"?}`` replaced, also on an ended run (people
        annotate runs afterwards); no lease is taken: annotating is not writing the run."""
        run_id = request.path_params["run_id"]

        def handle() -> Response:
            self._run_folder(run_id)
            body = json_object(read_limited(request.body.chunks(), ANNOTATIONS_LIMIT), "notes and/or tags",
                               {"notes", "tags"})
            if body.get("notes") is None and body.get("tags") is None:
                raise ValidationError('send {"notes": TEXT} or {"tags": [TAG, ...]} or both')
            recorder = self.registry.load(run_id, self.store)
            if recorder is None:
                raise RunNotFoundError(f"run {run_id!r} not found")
            return json_response(200, {"run_id": run_id, **recorder.annotate(notes=body.get("notes"),
                                                                             tags=body.get("tags"))})

        return self._run(request, handle)

    def save_process_step(self, request: Request) -> Response:
        """POST /api/pipeline/{run_id}/process/{entity_type}: the body is the step's content, streamed."""

        def save(recorder: LivePipelineRecorder, entity_type: str, content: Any, meta: dict[str, Any],
                 _: Any) -> tuple[int, Any]:
            filename = recorder.save_process_step(entity_type, content, meta)
            step = next(s for s in reversed(recorder.get_process_steps()) if s["filename"] == filename)
            return 201, {"run_id": recorder.run_id, "step": step}

        return self.upload_write(request, "process", save)
