"""LivePipelineRecorder: writes one run into its folder, entity by entity, crash-safe and concurrent.

Every change is one locked transaction: take the run lock (threads and processes), bring the in-memory document up
to date if another writer changed metadata.json, change it, and atomically replace metadata.json. Entity content
is written and fsynced to a temp file before the lock is taken, and renamed to its numbered name inside it, so
``save_entity`` returns only when both the entity and the metadata that lists it are on disk.

>>> rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=tmp)  # doctest: +SKIP
>>> rec.save_entity("input", "Hello")                                                       # doctest: +SKIP
'01_input.txt'
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import shutil
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from . import runformat
from .atomic import fsync_dir, replace_atomically, storage_errors, stream_temp, write_temp
from .errors import (
    CorruptRunError,
    InvalidContentError,
    InvalidMetadataError,
    RecorderError,
    RunExistsError,
    RunFinishedError,
    RunNotFoundError,
    ValidationError,
)
from .fileversion import Version, read_if_changed, signature_of, version_of
from .formats import JSON, SNIFF_BYTES, TEXT, Format, detect_binary, normalize_format
from .known_configs import known_expected_outputs
from .liveness import current_owner, with_writer
from .locking import RunLock
from .naming import METADATA_FILENAME, entity_filename, validate_entity_type, validate_run_id
from .progress import completed_outputs, progress
from .runformat import MetadataDocument
from .store import ParsedRun, RunStore, apply_liveness, parse_metadata, parse_metadata_since

# Hidden staging folders in pipeline_runs/ where new runs are made before they appear (never run ids: '.').
CREATE_PREFIX = ".create-"
DEFAULT_EXPECTED_OUTPUTS = ("input", "translation", "safety", "interception", "safety_pre_output", "output_image")
Content = str | bytes | bytearray | memoryview | dict[str, Any] | list[Any] | os.PathLike[str] | BinaryIO


@dataclass
class _Prepared:
    """Entity content already on disk in an fsynced temp file, waiting for its numbered name."""

    temp: Path
    size: int
    sha256: str
    format: Format


def _setting(name: str, value: object) -> str:
    if not isinstance(value, str) or not value or len(value) > 200 or "\0" in value:
        raise ValidationError(f"{name} must be a non-empty string of at most 200 characters, got {value!r:.60}")
    return value


def _check_stage(stage: object) -> None:
    if not isinstance(stage, int) or isinstance(stage, bool) or not 0 <= stage <= 99:
        raise ValidationError(f"stage must be an integer from 0 to 99, got {stage!r:.40}")


def _entity_metadata(metadata: object) -> dict[str, Any]:
    if metadata is None or metadata == {}:
        return {}
    if not isinstance(metadata, dict) or not all(isinstance(key, str) for key in metadata):
        raise InvalidMetadataError(f"entity metadata must be a dict with string keys, got {type(metadata).__name__}")
    try:
        copied: dict[str, Any] = json.loads(json.dumps(metadata, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidMetadataError(f"entity metadata must be JSON-serialisable: {exc}") from exc
    return copied


class LivePipelineRecorder:
    """Records one pipeline run into ``{base_path}/pipeline_runs/{run_id}/``.

    Creating it creates the run folder and its metadata.json; if the run already exists with the same settings
    (another process or thread created it), the recorder attaches to it.
    """

    run_id: str
    _doc: MetadataDocument | None
    _version: Version | None
    _increasing: bool  # every record's sequence is an integer greater than the one before (see store.ParsedRun)

    def __init__(
        self,
        run_id: str,
        config_name: str,
        execution_mode: str,
        safety_level: str,
        user_id: str = "anonymous",
        base_path: str | os.PathLike[str] | None = None,
        *,
        expected_outputs: Sequence[str] | None = None,
    ) -> None:
        settings = {
            "config_name": _setting("config_name", config_name),
            "execution_mode": _setting("execution_mode", execution_mode),
            "safety_level": _setting("safety_level", safety_level),
            "user_id": _setting("user_id", user_id),
        }
        if expected_outputs is None:  # a shipped config's own list (haiku has no image), else the default
            expected_outputs = known_expected_outputs(settings["config_name"]) or DEFAULT_EXPECTED_OUTPUTS
        expected = list(expected_outputs)
        if isinstance(expected_outputs, str):
            raise ValidationError("expected_outputs must be a list of entity types, not a string")
        for entity_type in expected:
            validate_entity_type(entity_type)
        self._setup(RunStore(base_path), validate_run_id(run_id))
        with storage_errors(f"create the folder of run {run_id!r}"):
            if not self._metadata_path.is_file():
                self._create_folder(runformat.new_header(run_id=run_id, expected_outputs=expected,
                                                         owner=current_owner(), **settings))
            with self._transaction(allow_missing=True):
                if self._doc is None:  # a folder without metadata.json (made by an older version): fill it in
                    header = runformat.new_header(run_id=run_id, expected_outputs=expected, owner=current_owner(),
                                                  **settings)
                    self._doc = MetadataDocument(header, [])
                    self._increasing = True
                    self._write()
                else:
                    self._check_settings(self._doc.header, settings)

    def _create_folder(self, header: dict[str, Any]) -> None:
        """Make the run folder appear whole: metadata.json is written in a hidden staging folder, which is then
        renamed into place. A run folder therefore always holds a metadata.json, even if its creator is killed;
        a killed creator leaves only a hidden ``.create-*`` folder, never a half-made run. If another process
        creates the run first, the rename fails and this recorder attaches to that run."""
        runs_dir = self._folder.parent
        runs_dir.mkdir(parents=True, exist_ok=True)
        staging = runs_dir / f"{CREATE_PREFIX}{self.run_id}-{uuid.uuid4().hex[:12]}"
        staging.mkdir()
        try:
            replace_atomically(staging / METADATA_FILENAME, MetadataDocument(header, []).chunks())
            try:
                os.rename(staging, self._folder)
            except OSError as exc:
                if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise
                return  # someone else created it: attach
            fsync_dir(runs_dir)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)

    @classmethod
    def open(cls, run_id: str, base_path: str | os.PathLike[str] | None = None) -> LivePipelineRecorder:
        """A recorder for an existing run, read from disk without writing anything. RunNotFoundError if absent."""
        recorder = cls.__new__(cls)
        recorder._setup(RunStore(base_path), validate_run_id(run_id))
        with recorder._mutex:
            recorder._refresh()
        return recorder

    def _setup(self, store: RunStore, run_id: str) -> None:
        self.run_id = run_id
        self._store = store
        self._folder = store.run_folder(run_id)
        self._metadata_path = self._folder / METADATA_FILENAME
        self._lock = RunLock(self._folder)
        self._mutex = threading.RLock()
        self._doc = None
        self._version = None
        self._increasing = False

    # -- reading -------------------------------------------------------------------------------------------------

    @property
    def run_folder(self) -> Path:
        """The run's folder, ``{base_path}/pipeline_runs/{run_id}``."""
        return self._folder

    def cached_entity_count(self) -> int:
        """How many entity records this recorder holds in memory (for the registry's bound)."""
        doc = self._doc
        return len(doc.entities) if doc is not None else 0

    def exists(self) -> bool:
        """Whether the run is (still) on disk."""
        return self._metadata_path.is_file()

    def require_settings(self, settings: dict[str, str]) -> None:
        """Raise RunExistsError unless the run has these settings (config_name, execution_mode, ...)."""
        checked = {name: _setting(name, value) for name, value in settings.items()}
        with self._mutex:
            self._check_settings(self._current().header, checked)

    def _check_settings(self, header: dict[str, Any], settings: dict[str, str]) -> None:
        differing = [name for name, value in settings.items() if header.get(name) != value]
        if differing:
            raise RunExistsError(
                f"run {self.run_id!r} already exists with other {', '.join(differing)}; "
                "use load_recorder() to continue it, or a new run id"
            )

    def _refresh(self, allow_missing: bool = False) -> None:
        """Reload metadata.json if any writer replaced it since we last read or wrote it (caller holds _mutex).

        Unchanged means: same inode, size, mtime and ctime as we last saw, *and* the file still starts with the
        header we last saw (fileversion.py). The stat alone is not enough: a replaced file can reuse the freed inode
        number with the same size within one coarse timestamp tick, and trusting a stale copy inside a transaction
        would overwrite another writer's entity.
        """
        try:
            st, data = read_if_changed(self._metadata_path, self._version if self._doc is not None else None)
        except FileNotFoundError:
            if allow_missing:
                self._doc, self._version = None, None
                return
            raise RunNotFoundError(f"run {self.run_id!r} not found in {self._store.runs_dir}") from None
        except OSError as exc:  # a link (refused: O_NOFOLLOW), a folder, no permission
            raise CorruptRunError(f"run {self.run_id!r}: metadata.json cannot be read: {exc.strerror}") from exc
        if data is None:
            return
        previous = None
        if self._doc is not None and self._version is not None:
            # What this recorder last read or wrote, as the parse it is (its fragments are the bytes it wrote), so
            # that records another writer appended since are the only ones parsed; _version is None after a failed
            # change, when memory may hold what the file does not.
            fragments = self._doc.fragments
            previous = ParsedRun({**self._doc.header, "entities": self._doc.entities}, fragments, 0,
                                 len(fragments), self._increasing)
        parsed = parse_metadata_since(data, self._metadata_path, previous)
        self._version = version_of(st, parsed.doc, data)
        self._increasing = parsed.increasing
        if previous is not None and parsed.shared == len(previous.doc["entities"]) and self._doc is not None:
            # Only appended to: keep the fragments already serialised and add the new records.
            self._doc.header = {key: value for key, value in parsed.doc.items() if key != "entities"}
            for entity in parsed.doc["entities"][parsed.shared:]:
                self._doc.add_entity(entity)
        else:
            self._doc = MetadataDocument.from_dict(parsed.doc)

    def _current(self) -> MetadataDocument:
        self._refresh()
        assert self._doc is not None
        return self._doc

    def get_status(self) -> dict[str, Any]:
        """A copy of metadata.json's content as it is on disk now (``interrupted`` if the writer died)."""
        with self._mutex:
            return apply_liveness(self._current().to_dict())

    def get_entities(self, entity_type: str | None = None) -> list[dict[str, Any]]:
        """The entity records, in sequence order; only those of ``entity_type`` when given."""
        if entity_type is not None:
            validate_entity_type(entity_type)
        with self._mutex:
            entities = self._current().entities
            return [runformat.copy_json(e) for e in entities if entity_type is None or e["type"] == entity_type]

    def get_entity_paths(self, entity_type: str | None = None) -> list[Path]:
        """Paths of all entities (of one type when given), in sequence order."""
        return [self._folder / e["filename"] for e in self.get_entities(entity_type)]

    def get_entity_path(self, entity_type: str) -> Path | None:
        """Path of the latest entity of ``entity_type``, or None if the run has none."""
        paths = self.get_entity_paths(validate_entity_type(entity_type))
        return paths[-1] if paths else None

    # -- writing -------------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _transaction(self, allow_missing: bool = False) -> Iterator[None]:
        """Hold the run lock with an up-to-date document; on failure drop what was changed in memory."""
        with self._mutex, self._lock.held():
            self._refresh(allow_missing=allow_missing)
            try:
                yield
            except BaseException:
                self._version = None  # reread from disk next time: memory may hold an unwritten change
                raise

    def _write(self) -> None:
        assert self._doc is not None
        chunks = self._doc.chunks()
        replace_atomically(self._metadata_path, chunks)
        # Under the run lock nobody else replaces the file between the rename and this stat.
        self._version = Version(signature_of(os.stat(self._metadata_path)), bytes(chunks[0]))

    def _open_document(self) -> MetadataDocument:
        doc = self._current()
        status = doc.header.get("status")
        if status in runformat.TERMINAL_STATUSES:
            raise RunFinishedError(f"run {self.run_id!r} has ended with status {status!r}; it takes no more changes")
        return doc

    def _touch(self, doc: MetadataDocument) -> None:
        doc.header["revision"] = int(doc.header["revision"]) + 1
        doc.header["updated_at"] = runformat.utc_now()
        # Liveness: this process now writes the run (see liveness.py).
        owner = current_owner()
        if doc.header.get("owner") != owner:
            doc.header["owner"] = owner
        writers = doc.header.get("writers")
        if not isinstance(writers, list) or not writers or writers[-1] != owner:
            doc.header["writers"] = with_writer(writers, owner)

    def _prepare(self, content: object, fmt: str | None) -> _Prepared:
        data: bytes
        if isinstance(content, str):
            try:
                data, form = content.encode("utf-8"), TEXT
            except UnicodeEncodeError as exc:
                raise InvalidContentError(f"text content is not encodable as UTF-8: {exc.reason}") from exc
        elif isinstance(content, dict | list):
            try:
                data = json.dumps(content, ensure_ascii=False, indent=2, allow_nan=False).encode("utf-8")
            except (TypeError, ValueError) as exc:
                raise InvalidContentError(f"dict/list content must be JSON-serialisable: {exc}") from exc
            form = JSON
        elif isinstance(content, bytes | bytearray | memoryview):
            data = bytes(content)
            form = detect_binary(data[:SNIFF_BYTES], fmt)
        elif isinstance(content, os.PathLike):
            try:
                with open(content, "rb") as source:
                    return self._prepare_stream(source, fmt)
            except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
                raise InvalidContentError(f"cannot read content file {os.fspath(content)!r}: {exc.strerror}") from exc
        elif isinstance(content, io.IOBase) or (hasattr(content, "read") and callable(content.read)):
            return self._prepare_stream(content, fmt)  # type: ignore[arg-type]
        else:
            raise InvalidContentError(
                f"cannot store content of type {type(content).__name__}: accepted are str (txt), dict or list "
                "(json), bytes (format from its content), a pathlib.Path or a binary file object"
            )
        temp = write_temp(self._folder, data)
        return _Prepared(temp, len(data), hashlib.sha256(data).hexdigest(), form)

    def _prepare_stream(self, source: BinaryIO, fmt: str | None) -> _Prepared:
        head = source.read(SNIFF_BYTES)
        if not isinstance(head, bytes):
            raise InvalidContentError("a file object given as content must be opened in binary mode ('rb')")
        temp, size, sha = stream_temp(self._folder, source, head)
        return _Prepared(temp, size, sha, detect_binary(head, fmt))

    def save_entity(self, entity_type: str, content: Content, metadata: dict[str, Any] | None = None) -> str:
        """Save one entity and list it in metadata.json; returns its filename once both are durable on disk.

        ``content``: ``str`` (saved as .txt), ``dict``/``list`` (.json), ``bytes`` (format from the content's magic
        bytes, else ``metadata["format"]`` from the allow-list, else .bin), or for large media a ``pathlib.Path``
        or binary file object, streamed without being read into memory.
        """
        validate_entity_type(entity_type)
        meta = _entity_metadata(metadata)
        fmt = normalize_format(meta["format"]) if "format" in meta else None
        with storage_errors(f"save entity {entity_type!r} in run {self.run_id!r}"):
            if not self._folder.is_dir():
                raise RunNotFoundError(f"run {self.run_id!r} not found in {self._store.runs_dir}")
            prepared = self._prepare(content, fmt)
            try:
                return self._commit_entity(entity_type, meta, prepared)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(prepared.temp)

    def _commit_entity(self, entity_type: str, meta: dict[str, Any], prepared: _Prepared) -> str:
        with self._transaction():
            doc = self._open_document()
            sequence = doc.entities[-1]["sequence"] + 1 if doc.entities else 1
            filename = entity_filename(sequence, entity_type, prepared.format.ext)
            target = self._folder / filename
            # Any file already at this name is an orphan of a writer that died before listing it: replace it.
            os.replace(prepared.temp, target)
            try:
                self._touch(doc)
                doc.add_entity({
                    "sequence": sequence,
                    "type": entity_type,
                    "filename": filename,
                    "timestamp": doc.header["updated_at"],
                    "metadata": meta,
                    "size": prepared.size,
                    "sha256": prepared.sha256,
                    "mime_type": prepared.format.mime_type,
                    "revision": doc.header["revision"],
                })
                completed = completed_outputs([*doc.header["completed_outputs"], entity_type])
                doc.header["completed_outputs"] = completed
                doc.header["current_state"]["progress"] = progress(doc.header["expected_outputs"], completed)
                self._write()
            except BaseException:
                # Not acknowledged: leave no unlisted file behind -- unless metadata.json on disk lists it already
                # (the rename committed and only the folder fsync failed): a listed entity must always exist.
                if not self._listed_on_disk(filename):
                    with contextlib.suppress(OSError):
                        os.unlink(target)
                raise
        return filename

    def _listed_on_disk(self, filename: str) -> bool:
        """Whether metadata.json on disk lists ``filename``; True when that cannot be known (keep the file)."""
        try:
            with open(self._metadata_path, "rb") as f:
                doc = parse_metadata(f.read(), self._metadata_path)
        except (OSError, RecorderError):
            return True
        return any(entity.get("filename") == filename for entity in reversed(doc["entities"]))

    def save_error(self, stage: int, error_type: str, message: str, details: dict[str, Any] | None = None) -> str:
        """Save an ``error`` entity (JSON) saying in which stage what went wrong."""
        _check_stage(stage)
        if not isinstance(message, str) or not isinstance(error_type, str):
            raise ValidationError("error_type and message must be strings")
        record = {"stage": stage, "error_type": error_type, "message": message, "details": details or {},
                  "timestamp": runformat.utc_now()}
        return self.save_entity("error", record, {"stage": stage, "error_type": error_type})

    def set_state(self, stage: int, step: str) -> None:
        """Set the current stage and step; written to metadata.json at once."""
        _check_stage(stage)
        if not isinstance(step, str) or not step or len(step) > 128:
            raise ValidationError(f"step must be a non-empty string of at most 128 characters, got {step!r:.40}")
        with storage_errors(f"set the state of run {self.run_id!r}"), self._transaction():
            doc = self._open_document()
            doc.header["current_state"] = {**doc.header["current_state"], "stage": stage, "step": step}
            self._touch(doc)
            self._write()

    def finish(self, status: str, reason: str | None = None) -> None:
        """End the run with a terminal status: completed, failed, blocked or cancelled. Ending twice the same way
        is a no-op; ending an ended run another way is a RunFinishedError."""
        if status not in runformat.TERMINAL_STATUSES:
            raise ValidationError(f"status {status!r} is not a terminal status; use one of "
                                  f"{sorted(runformat.TERMINAL_STATUSES)}")
        with storage_errors(f"end run {self.run_id!r}"), self._transaction():
            doc = self._current()
            if doc.header.get("status") == status:
                return
            doc = self._open_document()
            self._touch(doc)
            doc.header["status"] = status
            doc.header["finished_at"] = doc.header["updated_at"]
            if reason is not None:
                doc.header["status_reason"] = str(reason)[:2000]
            self._write()

    def mark_complete(self) -> None:
        self.finish("completed")

    def mark_failed(self, reason: str | None = None) -> None:
        self.finish("failed", reason)

    def mark_blocked(self, reason: str | None = None) -> None:
        self.finish("blocked", reason)

    def mark_cancelled(self, reason: str | None = None) -> None:
        self.finish("cancelled", reason)

    def close(self) -> None:
        """Release the lock file descriptor (the recorder reopens it if used again)."""
        self._lock.close()

    def __repr__(self) -> str:
        return f"LivePipelineRecorder(run_id={self.run_id!r}, folder={str(self._folder)!r})"

