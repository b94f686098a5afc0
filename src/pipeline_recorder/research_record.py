"""The research record's methods of LivePipelineRecorder: which model ran each stage, the notes and tags people
put on a run, and the steps of its prompting process. A mixin, so that recorder.py keeps the core of recording
(entities, state, endings) and this module what the research record adds; both write through the same
transactions of the store (``stores.base.RunWriter``).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from . import runfields
from .atomic import storage_errors
from .content import Content
from .document import MetadataDocument
from .errors import RunNotFoundError
from .formats import Format
from .naming import process_filename
from .stores import Store
from .stores.base import RunTransaction, RunWriter, StagedEntity

T = TypeVar("T")
# Places a staged file and lists it in the document, inside the transaction: (txn, doc, staged, format, metadata)
# -> its name.
Commit = Callable[[RunTransaction, MetadataDocument, StagedEntity, Format, dict[str, Any]], str]


def file_record(sequence: int, entity_type: str, filename: str, doc: MetadataDocument, staged: StagedEntity,
                fmt: Format, meta: dict[str, Any]) -> dict[str, Any]:
    """The record of a stored file (an entity or a step), as metadata.json lists it."""
    return {
        "sequence": sequence,
        "type": entity_type,
        "filename": filename,
        "timestamp": doc.header["updated_at"],
        "metadata": meta,
        "size": staged.size,
        "sha256": staged.sha256,
        "mime_type": fmt.mime_type,
        "revision": doc.header["revision"],
    }


class ResearchRecord(abc.ABC):
    """set_model, annotate and save_process_step, for a recorder that holds ``run_id``, ``store`` and a
    ``_writer`` and can open its document for a change (``_open_document``) and mark it changed (``_touch``)."""

    run_id: str
    store: Store
    _writer: RunWriter

    @abc.abstractmethod
    def _open_document(self, txn: RunTransaction) -> MetadataDocument:
        """The document of a running run (RunNotFoundError, RunFinishedError)."""

    @abc.abstractmethod
    def _read(self, look: Callable[[MetadataDocument], T]) -> T:
        """``look`` at the run's document (a lazy run's as it would be)."""

    @abc.abstractmethod
    def _materialize(self) -> None:
        """Create a lazy recorder's run before its first write."""

    @abc.abstractmethod
    def _store_file(self, what: str, entity_type: str, content: Content, metadata: dict[str, Any] | None,
                    commit: Commit) -> str:
        """Stage content and, in one transaction, let ``commit`` place and list it."""

    @staticmethod
    @abc.abstractmethod
    def _touch(doc: MetadataDocument, writing: bool = True) -> None:
        """A new revision (and, when ``writing``, this process as its writer)."""

    def set_model(self, stage_key: str, model: str) -> None:
        """Record which backend and model ran a stage: ``models_used[stage_key] = "backend/model"``."""
        key, value = runfields.check_model(stage_key, model)
        self._materialize()
        with storage_errors(f"set a model of run {self.run_id!r}"), self._writer.transaction() as txn:
            doc = self._open_document(txn)
            models = runfields.check_models({**(doc.header.get("models_used") or {}), key: value})
            if doc.header.get("models_used") == models:
                return
            doc.header["models_used"] = models
            self._touch(doc)
            txn.replace_document()

    def annotate(self, *, notes: str | None = None, tags: Sequence[str] | None = None) -> dict[str, Any]:
        """Replace the run's notes and/or tags (None: keep them); also on a run that has ended, since people
        annotate runs afterwards. Returns ``{"notes", "tags"}`` as stored."""
        changes: dict[str, Any] = {}
        if notes is not None:
            changes["notes"] = runfields.check_notes(notes)
        if tags is not None:
            changes["tags"] = runfields.check_tags(tags)
        self._materialize()
        with storage_errors(f"annotate run {self.run_id!r}"), self._writer.transaction() as txn:
            doc = txn.document
            if doc is None:
                raise RunNotFoundError(f"run {self.run_id!r} not found in {self.store.location()}")
            current = runfields.with_defaults(dict(doc.header))
            if any(current[key] != value for key, value in changes.items()):
                doc.header.update(changes)
                self._touch(doc, writing=False)
                txn.replace_document()
                current.update(changes)
            return {"notes": current["notes"], "tags": list(current["tags"])}

    def save_process_step(self, entity_type: str, content: Content, metadata: dict[str, Any] | None = None) -> str:
        """Save one step of the prompting process (an edit of the prompt, the parameters of a try, an intermediate
        image) as ``prompting_process/NNN_type.ext``, listed in metadata.json's ``prompting_process`` with a
        sequence of its own (the main entities keep theirs); returns its name (relative to the run folder) once
        both are durable. ``content`` and ``metadata`` as for ``save_entity``."""
        def commit(txn: RunTransaction, doc: MetadataDocument, staged: StagedEntity, fmt: Format,
                   meta: dict[str, Any]) -> str:
            steps = [dict(step) for step in doc.header.get("prompting_process") or []]
            sequence = max((int(step.get("sequence", 0)) for step in steps), default=0) + 1
            filename = process_filename(sequence, entity_type, fmt.ext)
            txn.place_entity(staged, filename)
            self._touch(doc)
            doc.header["prompting_process"] = [*steps, file_record(sequence, entity_type, filename, doc, staged, fmt,
                                                                   meta)]
            return filename

        return self._store_file(f"save a process step {entity_type!r}", entity_type, content, metadata, commit)

    def get_process_steps(self) -> list[dict[str, Any]]:
        """The records of the prompting process's steps, in their order (copies)."""
        return self._read(lambda doc: [dict(step) for step in doc.header.get("prompting_process") or []])
