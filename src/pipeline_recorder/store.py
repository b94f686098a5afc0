"""The store: where runs live on disk, and how they are read without writing anything.

``RunStore(base_path)`` holds runs under ``{base_path}/pipeline_runs/{run_id}/``. Every path it builds comes from a
validated run id, entity type or listed filename, and is checked to stay inside the run folder; symlinks are not
followed out of it. Reading applies liveness: a ``running`` run whose owner process died reads as ``interrupted``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import runformat
from .errors import CorruptRunError, EntityNotFoundError, RunNotFoundError
from .liveness import run_is_alive
from .naming import METADATA_FILENAME, RUN_ID_PATTERN, RUNS_DIRNAME, validate_entity_type, validate_run_id

BASE_PATH_ENV = "PIPELINE_RECORDER_BASE_PATH"


def default_base_path() -> Path:
    return Path(os.environ.get(BASE_PATH_ENV) or ".").absolute()


def apply_liveness(doc: dict[str, Any]) -> dict[str, Any]:
    """Report a run as ``interrupted`` when it says ``running`` but its writing process has died."""
    if doc.get("status") == runformat.RUNNING and not run_is_alive(doc):
        doc["status"] = runformat.INTERRUPTED
    return doc


def parse_metadata(data: bytes, where: Path) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorruptRunError(f"{where} is not valid JSON: {exc}") from exc
    found = runformat.problems(doc)
    if found:
        raise CorruptRunError(f"{where} does not follow the run format: {'; '.join(found[:3])}")
    assert isinstance(doc, dict)
    return doc


class RunStore:
    """Read access to the runs under one base path."""

    def __init__(self, base_path: str | os.PathLike[str] | None = None) -> None:
        self.base_path = Path(base_path).absolute() if base_path is not None else default_base_path()
        self.runs_dir = self.base_path / RUNS_DIRNAME

    def run_folder(self, run_id: str) -> Path:
        """The folder of a run (validated id; the folder may not exist)."""
        return self.runs_dir / validate_run_id(run_id)

    def exists(self, run_id: str) -> bool:
        return (self.run_folder(run_id) / METADATA_FILENAME).is_file()

    def read_metadata_bytes(self, run_id: str) -> bytes:
        path = self.run_folder(run_id) / METADATA_FILENAME
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            raise RunNotFoundError(f"run {run_id!r} not found") from None
        except OSError as exc:
            raise CorruptRunError(f"run {run_id!r}: metadata.json cannot be read: {exc.strerror}") from exc
        with os.fdopen(fd, "rb") as f:
            return f.read()

    def read_metadata(self, run_id: str) -> dict[str, Any]:
        """The run's metadata as stored, with liveness applied. RunNotFoundError, CorruptRunError."""
        data = self.read_metadata_bytes(run_id)
        return apply_liveness(parse_metadata(data, self.run_folder(run_id) / METADATA_FILENAME))

    def run_ids(self) -> Iterator[str]:
        """Ids of the run folders present (unordered); names that are not run ids are skipped."""
        try:
            entries = os.scandir(self.runs_dir)
        except FileNotFoundError:
            return
        with entries:
            for entry in entries:
                if RUN_ID_PATTERN.fullmatch(entry.name) and entry.is_dir(follow_symlinks=False):
                    yield entry.name

    def safe_entity_path(self, run_id: str, filename: str) -> Path:
        """The path of a file listed in the run, refusing anything that leaves the run folder or is a link."""
        folder = self.run_folder(run_id)
        if not filename or "/" in filename or "\\" in filename or "\0" in filename or filename.startswith("."):
            raise EntityNotFoundError(f"run {run_id!r} has no file {filename!r}")
        path = folder / filename
        real_folder = os.path.realpath(folder)
        real_path = os.path.realpath(path)
        if os.path.commonpath([real_folder, real_path]) != real_folder or os.path.islink(path):
            raise EntityNotFoundError(f"run {run_id!r} has no file {filename!r}")
        return path


def find_entity(doc: dict[str, Any], entity_type: str, index: int | None = None) -> dict[str, Any]:
    """The entity record of a type: the latest, or the ``index``-th (0-based, sequence order; negative from the end)."""
    validate_entity_type(entity_type)
    matches: list[dict[str, Any]] = [entity for entity in doc["entities"] if entity.get("type") == entity_type]
    if not matches:
        raise EntityNotFoundError(f"run {doc['run_id']!r} has no entity of type {entity_type!r}")
    if index is None:
        return matches[-1]
    if not -len(matches) <= index < len(matches):
        raise EntityNotFoundError(
            f"run {doc['run_id']!r} has {len(matches)} entities of type {entity_type!r}; index {index} is out of range"
        )
    return matches[index]
