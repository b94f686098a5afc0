"""Checking a run of a store without local folders (the shared store) through the Store interface alone: the
document and the stored objects are read together inside the run's transaction (nothing is written), and every
listed entity is read back through ``open_entity`` and hashed. An object named like an entity that no document
lists is what a writer killed before its commit left; the next entity of that sequence replaces it: a note, not a
problem."""

from __future__ import annotations

import hashlib
from typing import Any

from ..errors import CorruptRunError, EntityNotFoundError, RunNotFoundError
from ..runfields import stored_records
from ..stores.base import Store
from .findings import (
    ENTITY_HASH,
    ENTITY_MISSING,
    ENTITY_SIZE,
    HASH_CHUNK,
    METADATA_CORRUPT,
    UNREADABLE,
    Finding,
    RunCheck,
    parse_document,
)


def check_stored_run(store: Store, run_id: str) -> RunCheck:
    """Check one run of a store without local folders, through the Store interface. RunNotFoundError."""
    if not store.run_exists(run_id):
        raise RunNotFoundError(f"run {run_id!r} not found in {store.location()}")
    check = RunCheck(run_id)
    writer = store.writer(run_id)
    try:
        # Inside the run's transaction, as the folder check reads under the run lock: no writer is between placing
        # an entity and listing it. The block commits nothing (no replace_document).
        with writer.transaction() as txn:
            assert txn.document is not None
            data = txn.document.to_bytes()
            stored = {item.name: item.size for item in store.stored_files(run_id)}
    except CorruptRunError as exc:
        check.findings.append(Finding(run_id, METADATA_CORRUPT, f"the run's document cannot be read: {exc}"))
        return check
    finally:
        writer.close()
    doc, problem = parse_document(data, run_id)
    check.document, check.live = doc, doc is not None and store.is_live(run_id, doc)
    if problem is not None:
        check.findings.append(problem)
        return check
    assert doc is not None
    records = stored_records(doc)  # the entities and the prompting process's steps
    for entity in records:
        finding = _check_stored_entity(store, run_id, entity, stored)
        if finding is not None:
            check.findings.append(finding)
    listed = {str(entity["filename"]) for entity in records}
    orphans = sorted(set(stored) - listed)
    if orphans:
        check.notes.append(f"{len(orphans)} object(s) named like entities are listed by no document "
                           f"({', '.join(orphans[:5])}): saves never acknowledged (their writer was killed before "
                           "its commit); the next entity of that sequence and type replaces each")
    return check


def _check_stored_entity(store: Store, run_id: str, entity: dict[str, Any], stored: dict[str, int]) -> Finding | None:
    filename = str(entity["filename"])
    if filename not in stored:
        return Finding(run_id, ENTITY_MISSING, f"listed entity {filename} is missing from {store.location(run_id)}")
    if stored[filename] != entity["size"]:
        return Finding(run_id, ENTITY_SIZE, f"entity {filename} has {stored[filename]} bytes in the store but "
                       f"{entity['size']} are listed (truncated or changed; it cannot be repaired)")
    digest = hashlib.sha256()
    try:
        opened = store.open_entity(run_id, entity)
        with opened.file as f:
            while chunk := f.read(HASH_CHUNK):
                digest.update(chunk)
    except EntityNotFoundError as exc:
        return Finding(run_id, UNREADABLE, f"listed entity {filename} cannot be opened: {exc}")
    if digest.hexdigest() != entity["sha256"]:
        return Finding(run_id, ENTITY_HASH, f"entity {filename} does not match its listed sha256 (its content "
                       "changed; it cannot be repaired)")
    return None
