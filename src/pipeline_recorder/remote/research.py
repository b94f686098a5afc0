"""The research record's methods of RemoteRecorder (models used, notes and tags, the prompting process), sent to
the server's routes of them (http/research_writes.py), with the same checks as the local recorder's before anything
is sent."""

from __future__ import annotations

import abc
import threading
from collections.abc import Sequence
from typing import Any

from .. import runfields
from ..content import Content
from ..errors import ValidationError
from ..naming import process_filename, validate_entity_type
from .transport import Operation, Transport


class RemoteResearchRecord(abc.ABC):
    """set_model, annotate and save_process_step for a remote recorder that sends writes (``_write``, in order,
    spooled when the server is away; ``_upload`` for content) and asks its server directly (``_transport``)."""

    _transport: Transport
    _lock: threading.RLock
    _last_step: int

    @abc.abstractmethod
    def _write(self, op: Operation) -> Any: ...

    @abc.abstractmethod
    def _run_path(self, tail: str) -> str: ...

    @abc.abstractmethod
    def _check_open(self) -> None: ...

    @abc.abstractmethod
    def _upload(self, tail: str, content: Content, metadata: dict[str, Any] | None) -> tuple[Any, str]: ...

    def save_process_step(self, entity_type: str, content: Content, metadata: dict[str, Any] | None = None) -> str:
        """Save one step of the prompting process (content as for ``save_entity``); its name,
        ``prompting_process/NNN_type.ext`` (while spooled: the name it gets unless another writer adds steps)."""
        validate_entity_type(entity_type)
        answer, ext = self._upload(f"process/{entity_type}", content, metadata)
        with self._lock:
            if isinstance(answer, dict) and isinstance(answer.get("step"), dict):
                self._last_step = max(self._last_step, int(answer["step"]["sequence"]))
                return str(answer["step"]["filename"])
            self._last_step += 1
            return process_filename(self._last_step, entity_type, ext)


    def set_model(self, stage_key: str, model: str) -> None:
        """Record which backend and model ran a stage (``models_used[stage_key] = "backend/model"``)."""
        key, value = runfields.check_model(stage_key, model)
        self._check_open()
        self._write(Operation("PUT", self._run_path("model"), json={"stage_key": key, "model": value}))

    def annotate(self, *, notes: str | None = None, tags: Sequence[str] | None = None) -> dict[str, Any]:
        """Replace the run's notes and/or tags on the server (also after the run ended); ``{"notes", "tags"}``
        as stored. Not spooled: an annotation is made by a person, who is told when the server is away."""
        body: dict[str, Any] = {}
        if notes is not None:
            body["notes"] = runfields.check_notes(notes)
        if tags is not None:
            body["tags"] = runfields.check_tags(tags)
        if not body:
            raise ValidationError("annotate needs notes, tags or both")
        answer: dict[str, Any] = self._transport.send(Operation("PUT", self._run_path("annotations"), json=body))
        return {"notes": answer["notes"], "tags": answer["tags"]}

