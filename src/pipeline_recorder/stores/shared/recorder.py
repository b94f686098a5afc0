"""SharedRecorder: records one run into a shared store, with the methods and errors of LivePipelineRecorder.

>>> store = SharedStore.open("s3://recordings/lab")                  # doctest: +SKIP
>>> rec = SharedRecorder(store, new_run_id(), "stillepost", "eco", "kids")  # doctest: +SKIP
>>> rec.save_entity("input", "Hello")                                # doctest: +SKIP
'01_input.txt'

``save_entity`` returns once the entity object, the metadata.json listing it and the database's commit are all
done (see runs.py). While the recorder is open it holds a lease of the run, renewed in the background; ``close()``
(or the end of the run) lets it go. There is no local path of an entity: ``get_entity_path`` is None.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ... import runformat
from ...errors import RunExistsError, RunFinishedError, ValidationError
from ...formats import normalize_format
from ...liveness import current_owner, with_writer
from ...naming import entity_filename, validate_entity_type, validate_run_id
from ...progress import completed_outputs, progress
from ...recorder import DEFAULT_EXPECTED_OUTPUTS, Content, _check_stage, _entity_metadata, _setting
from ...runformat import MetadataDocument
from .content import Prepared, prepare
from .runs import Unchanged
from .store import SharedStore


class SharedRecorder:
    """One run in a shared store; creating it creates the run, or attaches to it when the settings match."""

    def __init__(self, store: SharedStore, run_id: str, config_name: str, execution_mode: str, safety_level: str,
                 user_id: str = "anonymous", *, expected_outputs: Sequence[str] | None = None) -> None:
        settings = {
            "config_name": _setting("config_name", config_name),
            "execution_mode": _setting("execution_mode", execution_mode),
            "safety_level": _setting("safety_level", safety_level),
            "user_id": _setting("user_id", user_id),
        }
        if isinstance(expected_outputs, str):
            raise ValidationError("expected_outputs must be a list of entity types, not a string")
        expected = list(DEFAULT_EXPECTED_OUTPUTS if expected_outputs is None else expected_outputs)
        for entity_type in expected:
            validate_entity_type(entity_type)
        self.run_id = validate_run_id(run_id)
        self.store = store
        self.writer_id = f"{current_owner()['host']}:{current_owner()['pid']}:{uuid.uuid4().hex[:12]}"
        header = runformat.new_header(run_id=run_id, expected_outputs=expected, owner=current_owner(), **settings)
        doc, created = store.runs.create(header, self.writer_id)
        if not created:
            differing = [name for name, value in settings.items() if doc.get(name) != value]
            if differing:
                raise RunExistsError(f"run {run_id!r} already exists with other {', '.join(differing)}; "
                                     "open it with SharedRecorder.open(), or use a new run id")
        if doc.get("status") == runformat.RUNNING or created:
            store.runs.renew_lease(self.run_id, self.writer_id)
            store.leases.hold(self.run_id, self.writer_id)

    @classmethod
    def open(cls, store: SharedStore, run_id: str) -> SharedRecorder:
        """A recorder of an existing run (RunNotFoundError if absent); nothing is written until it is used."""
        doc = store.read(run_id)
        return cls(store, run_id, doc["config_name"], doc["execution_mode"], doc["safety_level"], doc["user_id"],
                   expected_outputs=doc["expected_outputs"])

    @property
    def run_folder(self) -> None:
        """A shared run has no local folder."""
        return None

    # -- reading ------------------------------------------------------------------------------------------------

    def get_status(self) -> dict[str, Any]:
        return self.store.read(self.run_id)

    def get_entities(self, entity_type: str | None = None) -> list[dict[str, Any]]:
        if entity_type is not None:
            validate_entity_type(entity_type)
        return [e for e in self.get_status()["entities"] if entity_type is None or e["type"] == entity_type]

    def get_entity_path(self, entity_type: str) -> Path | None:
        validate_entity_type(entity_type)
        return None

    # -- writing ------------------------------------------------------------------------------------------------

    def _touch(self, doc: MetadataDocument) -> None:
        owner = current_owner()
        doc.header["owner"] = owner
        writers = doc.header.get("writers")
        if not isinstance(writers, list) or not writers or writers[-1] != owner:
            doc.header["writers"] = with_writer(writers, owner)

    def _open(self, doc: MetadataDocument) -> None:
        status = doc.header.get("status")
        if status in runformat.TERMINAL_STATUSES:
            raise RunFinishedError(f"run {self.run_id!r} has ended with status {status!r}; it takes no more changes")

    def save_entity(self, entity_type: str, content: Content, metadata: dict[str, Any] | None = None) -> str:
        """Save one entity; its filename, once the object, metadata.json and the database all hold it."""
        validate_entity_type(entity_type)
        meta = _entity_metadata(metadata)
        fmt = normalize_format(meta["format"]) if "format" in meta else None
        prepared = prepare(content, fmt, self.store.bucket, self.store.runs.key(self.run_id, "")[:-1])
        try:
            return self._commit(entity_type, meta, prepared)
        finally:
            if prepared.staged_key is not None:
                self.store.bucket.delete(prepared.staged_key)

    def _commit(self, entity_type: str, meta: dict[str, Any], prepared: Prepared) -> str:
        runs = self.store.runs

        def apply(doc: MetadataDocument, first_attempt: bool) -> str:
            self._open(doc)
            sequence = doc.entities[-1]["sequence"] + 1 if doc.entities else 1
            filename = entity_filename(sequence, entity_type, prepared.format.ext)
            if first_attempt:
                # Over any object a writer killed before its commit left at this name (it was never listed).
                key = runs.key(self.run_id, filename)
                if prepared.data is not None:
                    runs.bucket.put(key, prepared.data)
                else:
                    assert prepared.staged_key is not None
                    runs.bucket.copy(prepared.staged_key, key)
            self._touch(doc)
            doc.add_entity({
                "sequence": sequence, "type": entity_type, "filename": filename,
                "timestamp": doc.header["updated_at"], "metadata": meta, "size": prepared.size,
                "sha256": prepared.sha256, "mime_type": prepared.format.mime_type,
                "revision": doc.header["revision"],
            })
            completed = completed_outputs([*doc.header["completed_outputs"], entity_type])
            doc.header["completed_outputs"] = completed
            doc.header["current_state"]["progress"] = progress(doc.header["expected_outputs"], completed)
            return filename

        return runs.change(self.run_id, self.writer_id, f"save entity {entity_type!r} in run {self.run_id!r}",
                           apply)

    def save_error(self, stage: int, error_type: str, message: str, details: dict[str, Any] | None = None) -> str:
        """Save an ``error`` entity (JSON) saying in which stage what went wrong."""
        _check_stage(stage)
        if not isinstance(message, str) or not isinstance(error_type, str):
            raise ValidationError("error_type and message must be strings")
        record = {"stage": stage, "error_type": error_type, "message": message, "details": details or {},
                  "timestamp": runformat.utc_now()}
        return self.save_entity("error", record, {"stage": stage, "error_type": error_type})

    def set_state(self, stage: int, step: str) -> None:
        _check_stage(stage)
        if not isinstance(step, str) or not step or len(step) > 128:
            raise ValidationError(f"step must be a non-empty string of at most 128 characters, got {step!r:.40}")

        def apply(doc: MetadataDocument, first_attempt: bool) -> None:
            self._open(doc)
            self._touch(doc)
            doc.header["current_state"] = {**doc.header["current_state"], "stage": stage, "step": step}

        self.store.runs.change(self.run_id, self.writer_id, f"set the state of run {self.run_id!r}", apply)

    def finish(self, status: str, reason: str | None = None) -> None:
        """End the run with a terminal status; ending twice the same way is a no-op."""
        if status not in runformat.TERMINAL_STATUSES:
            raise ValidationError(f"status {status!r} is not a terminal status; use one of "
                                  f"{sorted(runformat.TERMINAL_STATUSES)}")
        def apply(doc: MetadataDocument, first_attempt: bool) -> None:
            if doc.header.get("status") == status:
                raise Unchanged
            self._open(doc)
            self._touch(doc)
            doc.header["status"] = status
            doc.header["finished_at"] = doc.header["updated_at"]
            if reason is not None:
                doc.header["status_reason"] = str(reason)[:2000]

        self.store.runs.change(self.run_id, self.writer_id, f"end run {self.run_id!r}", apply)
        self.close()

    def mark_complete(self) -> None:
        self.finish("completed")

    def mark_failed(self, reason: str | None = None) -> None:
        self.finish("failed", reason)

    def mark_blocked(self, reason: str | None = None) -> None:
        self.finish("blocked", reason)

    def mark_cancelled(self, reason: str | None = None) -> None:
        self.finish("cancelled", reason)

    def close(self) -> None:
        """Stop holding the run's lease (a running run then reads interrupted once no other writer holds one)."""
        self.store.leases.release(self.run_id, self.writer_id)
        self.store.runs.release_lease(self.run_id, self.writer_id)

    def __repr__(self) -> str:
        return f"SharedRecorder(run_id={self.run_id!r}, store={self.store.url!r})"
