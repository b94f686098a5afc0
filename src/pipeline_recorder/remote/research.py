"""The research record's methods of RemoteRecorder (models used, notes and tags), sent to the server's routes of
them (http/research_writes.py), with the same checks as the local recorder's before anything is sent."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any

from .. import runfields
from ..errors import ValidationError
from .transport import Operation, Transport


class RemoteResearchRecord(abc.ABC):
    """set_model and annotate for a remote recorder that sends writes (``_write``, in order, spooled when the
    server is away) and asks its server directly (``_transport``)."""

    _transport: Transport

    @abc.abstractmethod
    def _write(self, op: Operation) -> Any: ...

    @abc.abstractmethod
    def _run_path(self, tail: str) -> str: ...

    @abc.abstractmethod
    def _check_open(self) -> None: ...

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

