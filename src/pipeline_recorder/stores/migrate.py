"""Copying runs from one store to another (``pipeline-recorder migrate SOURCE TARGET``), checked by hash, resumable.

Each run is copied in one transaction of the target: the run is created with its settings, every entity is
streamed from the source into the target and its SHA-256 compared with the source's record before it is placed,
and the source's document becomes the target's, byte for byte. A run whose document in the target already equals
the source's is skipped, so a migration killed at any moment is resumed by running it again: the runs it had
finished are skipped, the one it was copying is copied again (its transaction never committed).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..document import MetadataDocument, parse_metadata
from ..errors import CorruptRunError, RecorderError
from .base import RunWriter, Store

COPIED, SKIPPED, FAILED = "copied", "skipped", "failed"
_CHUNK = 1024 * 1024


@dataclass
class MigrationReport:
    copied: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # run id -> why


def migrate_runs(source: Store, target: Store, run_ids: Iterable[str] | None = None,
                 progress: Callable[[str, str], None] | None = None) -> MigrationReport:
    """Copy every run of ``source`` (or those named) into ``target``; ``progress(run_id, outcome)`` after each.
    One run that cannot be copied is reported in ``failed`` and does not stop the others."""
    report = MigrationReport()
    for run_id in sorted(run_ids if run_ids is not None else source.run_ids()):
        try:
            outcome = migrate_run(source, target, run_id)
        except RecorderError as exc:
            report.failed[run_id] = str(exc)
            outcome = FAILED
        else:
            (report.copied if outcome == COPIED else report.skipped).append(run_id)
        if progress is not None:
            progress(run_id, outcome)
    return report


def migrate_run(source: Store, target: Store, run_id: str) -> str:
    """Copy one run; COPIED, or SKIPPED when the target holds it already, byte for byte."""
    data = source.read_document_bytes(run_id)
    where = f"{source.location(run_id)}/metadata.json"
    doc = parse_metadata(data, where)
    if target.run_exists(run_id) and target.read_document_bytes(run_id) == data:
        return SKIPPED
    header = {key: value for key, value in doc.items() if key != "entities"}
    created = target.create_run(run_id, MetadataDocument(header, []))
    try:
        _copy_entities(source, target, run_id, doc)
    except BaseException:
        if created:  # a refused copy leaves nothing of the run in the target
            with contextlib.suppress(RecorderError):
                target.delete_run(run_id)
        raise
    copied = target.read_document_bytes(run_id)
    if hashlib.sha256(copied).digest() != hashlib.sha256(data).digest() and \
            parse_metadata(copied, target.location(run_id)) != doc:
        raise CorruptRunError(f"run {run_id!r}: the copy's metadata.json differs from the source's")
    return COPIED


def _copy_entities(source: Store, target: Store, run_id: str, doc: dict[str, Any]) -> None:
    writer = target.writer(run_id)
    try:
        _copy_in_transaction(source, target, writer, run_id, doc)
    finally:
        writer.close()


def _copy_in_transaction(source: Store, target: Store, writer: RunWriter, run_id: str, doc: dict[str, Any]) -> None:
    with writer.transaction() as txn:
        for record in doc["entities"]:
            entity = source.open_entity(run_id, record)
            try:
                # The first chunk goes as ``head``: stores take it, then the rest of the file.
                staged = target.stage_entity(run_id, entity.file, entity.file.read(_CHUNK))
            finally:
                entity.close()
            try:
                if staged.sha256 != record.get("sha256") or staged.size != record.get("size"):
                    raise CorruptRunError(f"run {run_id!r}: {record['filename']} in {source.location(run_id)} "
                                          f"does not match its record (size {staged.size}, sha256 "
                                          f"{staged.sha256[:12]}...): nothing of the run was copied")
                txn.place_entity(staged, record["filename"])
            finally:
                staged.discard()
        txn.document = MetadataDocument.from_dict(doc)
        txn.replace_document()

