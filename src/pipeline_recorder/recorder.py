"""LivePipelineRecorder: writes one run into its folder, entity by entity, crash-safe and concurrent.

Every change is one transaction of the store (``stores.base.RunWriter``): exclusive across threads, processes and
machines, with the run's document up to date, changed, and replaced atomically. Entity content is staged in the
store (durable) before the transaction, and placed under its numbered name inside it, so ``save_entity`` returns
only when both the entity and the metadata that lists it are stored. What is checked and how content is encoded
live in ``validation`` and ``content``.

>>> rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=tmp)  # doctest: +SKIP
>>> rec.save_entity("input", "Hello")                                                       # doctest: +SKIP
'01_input.txt'
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from . import runfields, runformat
from .atomic import storage_errors
from .content import Content, prepare
from .document import MetadataDocument, copy_json
from .endings import RunEndings
from .errors import RunExistsError, RunFinishedError, RunNotFoundError, ValidationError
from .formats import Format, normalize_format
from .known_configs import known_expected_outputs
from .liveness import current_owner, with_writer
from .naming import entity_filename, validate_entity_type, validate_run_id
from .progress import completed_outputs, progress
from .research_record import Commit, ResearchRecord, file_record
from .stores import Store, store_for
from .stores.base import RunTransaction, StagedEntity
from .validation import check_error, check_setting, check_stage, check_step, check_text, entity_metadata

DEFAULT_EXPECTED_OUTPUTS = ("input", "translation", "safety", "interception", "safety_pre_output", "output_image")
SETTING_NAMES = ("config_name", "execution_mode", "safety_level")
GROUPING_NAMES = ("kind", "session_id", "device_id")

__all__ = ["DEFAULT_EXPECTED_OUTPUTS", "Content", "LivePipelineRecorder"]
T = TypeVar("T")


class LivePipelineRecorder(ResearchRecord, RunEndings):
    """Records one pipeline run into a store (by default the folder ``{base_path}/pipeline_runs/{run_id}/``).

    With its settings, creating it creates the run (its folder and metadata.json); if the run already exists with
    the same settings (another process or thread created it), the recorder attaches to it. Without settings
    (``LivePipelineRecorder(run_id, base_path=...)``, or ``open``) it attaches to an existing run and writes
    nothing; RunNotFoundError when there is none. ``base_path`` is a folder, a store URL or a ``Store``.
    """

    def __init__(
        self,
        run_id: str,
        config_name: str | None = None,
        execution_mode: str | None = None,
        safety_level: str | None = None,
        user_id: str | None = None,
        base_path: Store | str | os.PathLike[str] | None = None,
        *,
        expected_outputs: Sequence[str] | None = None,
        kind: str | None = None,
        session_id: str | None = None,
        device_id: str | None = None,
        lazy: bool = False,
    ) -> None:
        given = {"config_name": config_name, "execution_mode": execution_mode, "safety_level": safety_level}
        grouping = {"kind": kind, "session_id": session_id, "device_id": device_id}
        self.run_id = validate_run_id(run_id)
        self.store = store_for(base_path)
        self._writer = self.store.writer(self.run_id)
        # lazy: the run is created by the first write (entity, step, state, model, notes); until then nothing is
        # stored, and a recorder that is dropped unused leaves nothing behind (a page that was only opened).
        self._pending: Callable[[], MetadataDocument] | None = None
        self._pending_lock = threading.Lock()
        self._ended_unstored: str | None = None
        if all(value is None for value in (*given.values(), *grouping.values(), user_id, expected_outputs)):
            self._writer.read(lambda doc: None)  # attach only: RunNotFoundError when absent, never a write
            return
        missing = [name for name, value in given.items() if value is None]
        if missing:
            raise ValidationError(f"a new run needs {', '.join(missing)} (or none of the settings, to open an "
                                  "existing run)")
        settings = {name: check_setting(name, value) for name, value in given.items()}
        settings["user_id"] = check_setting("user_id", "anonymous" if user_id is None else user_id)
        expected = _expected(expected_outputs, settings["config_name"])
        checked = runfields.check_grouping(**grouping)

        def document() -> MetadataDocument:
            return MetadataDocument(runformat.new_header(run_id=self.run_id, expected_outputs=expected,
                                                         owner=current_owner(), fields=checked, **settings), [])

        if lazy:
            self._pending = document
        else:
            self._create(document, {**settings, **checked})

    def _create(self, document: Callable[[], MetadataDocument], settings: dict[str, str]) -> None:
        with storage_errors(f"create the run {self.run_id!r}"):
            if not self.store.run_exists(self.run_id):
                self.store.create_run(self.run_id, document())  # False: someone else made it first, attach
            with self._writer.transaction(allow_missing=True) as txn:
                if txn.document is None:  # a folder without metadata.json (made by an older version): fill it in
                    txn.document = document()
                    txn.replace_document()
                else:
                    self._check_settings(runfields.with_defaults(dict(txn.document.header)), settings)

    def _materialize(self) -> None:
        """Create a lazy recorder's run now (before its first write); nothing to do for any other."""
        if self._pending is None and self._ended_unstored is None:
            return
        with self._pending_lock:
            if self._ended_unstored is not None:
                raise RunFinishedError(f"run {self.run_id!r} was ended ({self._ended_unstored!r}) before anything "
                                       "was recorded, so it was never stored; it takes no more changes")
            if self._pending is not None:
                document = self._pending
                header = document().header
                self._create(document, {name: header[name] for name in (*SETTING_NAMES, "user_id", *GROUPING_NAMES)
                                        if header.get(name) is not None})
                self._pending = None

    def _read(self, look: Callable[[MetadataDocument], T]) -> T:
        """``look`` at the run's document as stored now -- or, for a lazy run not created yet, as it would be."""
        pending = self._pending
        if pending is not None:
            doc = pending()
            if self._ended_unstored is not None:
                doc.header["status"] = self._ended_unstored
            return look(doc)
        return self._writer.read(look)

    @classmethod
    def open(cls, run_id: str, base_path: Store | str | os.PathLike[str] | None = None) -> LivePipelineRecorder:
        """A recorder for an existing run, read without writing anything. RunNotFoundError if absent."""
        return cls(run_id, base_path=base_path)

    # -- reading -------------------------------------------------------------------------------------------------

    @property
    def run_folder(self) -> Path:
        """The run's folder, ``{base_path}/pipeline_runs/{run_id}`` (stores that keep no local folders have none:
        then this raises ValidationError)."""
        folder = self.store.local_folder(self.run_id)
        if folder is None:
            raise ValidationError(f"the store {self.store.url} keeps no local folders; the run is at "
                                  f"{self.store.location(self.run_id)}")
        return folder

    def cached_entity_count(self) -> int:
        """How many entity records this recorder holds in memory (for the registry's bound)."""
        return self._writer.cached_entity_count()

    def exists(self) -> bool:
        """Whether the run is (still) stored (a lazy recorder's run: once something was recorded)."""
        return self.store.run_exists(self.run_id)

    def require_settings(self, settings: dict[str, str]) -> None:
        """Raise RunExistsError unless the run has these settings (config_name, execution_mode, ..., and kind,
        session_id, device_id)."""
        grouping = runfields.check_grouping(**{name: value for name, value in settings.items()
                                               if name in GROUPING_NAMES})
        checked = {name: check_setting(name, value) for name, value in settings.items()
                   if name not in GROUPING_NAMES}
        checked.update(grouping)
        self._read(lambda doc: self._check_settings(runfields.with_defaults(dict(doc.header)), checked))

    def _check_settings(self, header: dict[str, Any], settings: dict[str, Any]) -> None:
        differing = [name for name, value in settings.items() if header.get(name) != value]
        if differing:
            raise RunExistsError(
                f"run {self.run_id!r} already exists with other {', '.join(differing)}; "
                "use load_recorder() to continue it, or a new run id"
            )

    def get_status(self) -> dict[str, Any]:
        """A copy of metadata.json's content as it is stored now (``interrupted`` if the writer died); a run
        written before the research fields existed shows their defaults (runfields.py)."""
        doc = self._read(MetadataDocument.to_dict)
        return self.store.apply_liveness(self.run_id, runfields.with_defaults(doc))

    def get_entities(self, entity_type: str | None = None) -> list[dict[str, Any]]:
        """The entity records, in sequence order; only those of ``entity_type`` when given."""
        if entity_type is not None:
            validate_entity_type(entity_type)
        return self._read(lambda doc: [copy_json(e) for e in doc.entities
                                              if entity_type is None or e["type"] == entity_type])

    def get_entity_paths(self, entity_type: str | None = None) -> list[Path]:
        """Paths of all entities (of one type when given), in sequence order."""
        return [self.run_folder / e["filename"] for e in self.get_entities(entity_type)]

    def last_sequence(self) -> int:
        """The sequence of the run's latest entity as stored now (0 when it has none)."""
        return self._read(lambda doc: int(doc.entities[-1]["sequence"]) if doc.entities else 0)

    def entity_record(self, filename: str) -> dict[str, Any] | None:
        """A copy of the record of the entity listed as ``filename`` (searched from the latest), or None."""
        def find(doc: MetadataDocument) -> dict[str, Any] | None:
            for entity in reversed(doc.entities):
                if entity["filename"] == filename:
                    return dict(copy_json(entity))
            return None

        return self._read(find)

    def writer_records(self) -> list[dict[str, Any]]:
        """A copy of the run's ``writers`` (see liveness.py) as stored now."""
        def copy(doc: MetadataDocument) -> list[dict[str, Any]]:
            writers = doc.header.get("writers")
            return [copy_json(w) for w in writers] if isinstance(writers, list) else []

        return self._read(copy)

    def get_entity_path(self, entity_type: str) -> Path | None:
        """Path of the latest entity of ``entity_type``, or None if the run has none."""
        paths = self.get_entity_paths(validate_entity_type(entity_type))
        return paths[-1] if paths else None

    # -- writing -------------------------------------------------------------------------------------------------

    def _open_document(self, txn: RunTransaction) -> MetadataDocument:
        doc = txn.document
        if doc is None:
            raise RunNotFoundError(f"run {self.run_id!r} not found in {self.store.location()}")
        status = doc.header.get("status")
        if status in runformat.TERMINAL_STATUSES:
            raise RunFinishedError(f"run {self.run_id!r} has ended with status {status!r}; it takes no more changes")
        return doc

    @staticmethod
    def _touch(doc: MetadataDocument, writing: bool = True) -> None:
        doc.header["revision"] = int(doc.header["revision"]) + 1
        doc.header["updated_at"] = runformat.utc_now()
        if not writing:  # an annotation: whoever writes the run still does (its liveness is theirs)
            return
        # Liveness: this process now writes the run (see liveness.py).
        owner = current_owner()
        if doc.header.get("owner") != owner:
            doc.header["owner"] = owner
        writers = doc.header.get("writers")
        if not isinstance(writers, list) or not writers or writers[-1] != owner:
            doc.header["writers"] = with_writer(writers, owner)

    def save_entity(self, entity_type: str, content: Content, metadata: dict[str, Any] | None = None) -> str:
        """Save one entity and list it in metadata.json; returns its filename once both are durable.

        ``content``: ``str`` (saved as .txt), ``dict``/``list`` (.json), ``bytes`` (format from the content's magic
        bytes, else ``metadata["format"]`` from the allow-list, else .bin), or for large media a ``pathlib.Path``
        or binary file object, streamed without being read into memory.
        """
        def commit(txn: RunTransaction, doc: MetadataDocument, staged: StagedEntity, fmt: Format,
                   meta: dict[str, Any]) -> str:
            sequence = txn.next_sequence()
            filename = entity_filename(sequence, entity_type, fmt.ext)
            txn.place_entity(staged, filename)
            self._touch(doc)
            doc.add_entity(file_record(sequence, entity_type, filename, doc, staged, fmt, meta))
            completed = completed_outputs([*doc.header["completed_outputs"], entity_type])
            doc.header["completed_outputs"] = completed
            doc.header["current_state"]["progress"] = progress(doc.header["expected_outputs"], completed)
            return filename

        return self._store_file(f"save entity {entity_type!r}", entity_type, content, metadata, commit)

    def _store_file(self, what: str, entity_type: str, content: Content, metadata: dict[str, Any] | None,
                    commit: Commit) -> str:
        """Stage ``content`` (checked: type, metadata, format), then in one transaction of the running run let
        ``commit`` place it and list it; returns its name once both are durable."""
        validate_entity_type(entity_type)
        meta = entity_metadata(metadata)
        fmt = normalize_format(meta["format"]) if "format" in meta else None
        self._materialize()
        with storage_errors(f"{what} in run {self.run_id!r}"):
            prepared = prepare(self.store, self.run_id, content, fmt)
            try:
                with self._writer.transaction() as txn:
                    filename = commit(txn, self._open_document(txn), prepared.staged, prepared.format, meta)
                    txn.replace_document()
                return filename
            finally:
                prepared.staged.discard()

    def save_error(self, stage: int, error_type: str, message: str, details: dict[str, Any] | None = None) -> str:
        """Save an ``error`` entity (JSON) saying in which stage what went wrong."""
        check_error(stage, error_type, message)
        record = {"stage": stage, "error_type": error_type, "message": message, "details": details or {},
                  "timestamp": runformat.utc_now()}
        return self.save_entity("error", record, {"stage": stage, "error_type": error_type})

    def set_state(self, stage: int, step: str) -> None:
        """Set the current stage and step; written to metadata.json at once."""
        check_stage(stage)
        check_step(step)
        self._materialize()
        with storage_errors(f"set the state of run {self.run_id!r}"), self._writer.transaction() as txn:
            doc = self._open_document(txn)
            doc.header["current_state"] = {**doc.header["current_state"], "stage": stage, "step": step}
            self._touch(doc)
            txn.replace_document()

    def finish(self, status: str, reason: str | None = None) -> None:
        """End the run with a terminal status: completed, failed, blocked or cancelled. Ending twice the same way
        is a no-op; ending an ended run another way is a RunFinishedError."""
        if status not in runformat.TERMINAL_STATUSES:
            raise ValidationError(f"status {status!r} is not a terminal status; use one of "
                                  f"{sorted(runformat.TERMINAL_STATUSES)}")
        if reason is not None:
            reason = check_text("reason", str(reason)[:2000])
        with self._pending_lock:
            if self._pending is not None or self._ended_unstored is not None:  # lazy, nothing recorded: store nothing
                if self._ended_unstored not in (None, status):
                    raise RunFinishedError(f"run {self.run_id!r} has ended with status {self._ended_unstored!r}")
                self._ended_unstored = status
                return
        with storage_errors(f"end run {self.run_id!r}"), self._writer.transaction() as txn:
            if txn.document is not None and txn.document.header.get("status") == status:
                return
            doc = self._open_document(txn)
            self._touch(doc)
            doc.header["status"] = status
            doc.header["finished_at"] = doc.header["updated_at"]
            if reason is not None:
                doc.header["status_reason"] = reason
            txn.replace_document()

    def close(self) -> None:
        """Release what the run's write handle holds open (it is reopened if the recorder is used again)."""
        self._writer.close()

    def __repr__(self) -> str:
        return f"LivePipelineRecorder(run_id={self.run_id!r}, store={self.store.location(self.run_id)!r})"


def _expected(expected_outputs: Sequence[str] | None, config_name: str) -> list[str]:
    if isinstance(expected_outputs, str):
        raise ValidationError("expected_outputs must be a list of entity types, not a string")
    if expected_outputs is None:  # a shipped config's own list (haiku has no image), else the default
        expected_outputs = known_expected_outputs(config_name) or DEFAULT_EXPECTED_OUTPUTS
    expected = list(expected_outputs)
    for entity_type in expected:
        validate_entity_type(entity_type)
    return expected


