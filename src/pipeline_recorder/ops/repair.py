"""``verify --repair``: mend what the files on disk allow, never delete an entity file, and say what was done.

- A lost, unparseable or malformed ``metadata.json`` is rebuilt from the entity files and the prompting process's
  step files (``prompting_process/NNN_type.ext``, listed with their own sequence): sequence, type and extension
  from each filename, size, sha256 and MIME type from the content, and whatever the old document still says
  (settings, state, status, per-entity metadata of unchanged files) is kept. A corrupt file is first kept as
  ``.metadata.json.corrupt-{time}`` so nothing is lost.
- Leftover temp files (``.tmp-*``) of a writer that is gone are removed; those of a live writer are left unless
  they were not written to for an hour.
- Half-done ``gc``, ``import`` or run creation folders in the store are finished (deleted); on the shared store,
  upload objects (``.staging-*``) abandoned by killed writers are deleted (the only repair there).
- Unlisted entity files (saves that were never acknowledged: the writer died between renaming the file into place
  and listing it) are renamed to ``.unacknowledged-{name}``: kept byte for byte, but as helper files, so they are
  never taken for entities and the run verifies clean.
- Unexpected files and truncated or changed entities are reported, not touched.
- A run whose metadata.json was rebuilt is noted in the run index at once, so listings show it without delay.

metadata.json is written with ``replace_atomically`` under the run lock, so a live writer never sees a torn file
and never has its change overwritten.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import runformat
from ..atomic import replace_atomically
from ..document import MetadataDocument
from ..formats import MIME_TYPES, SNIFF_BYTES, detect_binary
from ..index import RunIndex
from ..locking import RunLock
from ..naming import ENTITY_TYPE_PATTERN, METADATA_FILENAME, PROCESS_DIRNAME, parse_entity_filename
from ..progress import completed_outputs, progress
from ..stores.base import Store
from ..stores.folder import FolderStore
from .leftovers import MADE_BY, finish_leftovers, is_live, stale_temp_files, store_uploads
from .verify import (
    METADATA_CORRUPT,
    METADATA_FORMAT,
    METADATA_MISSING,
    UNACKNOWLEDGED_PREFIX,
    Finding,
    RunCheck,
    check_run,
    file_digest,
    parse_document,
    read_snapshot_unlocked,
)

log = logging.getLogger(__name__)

REBUILT_REASON = "metadata.json was rebuilt from the entity files by `pipeline-recorder verify --repair`"
SETTINGS = ("config_name", "execution_mode", "safety_level", "user_id")


@dataclass
class RunRepair:
    """What repair did to one run (``actions``) and what is still wrong (``remaining``)."""

    run_id: str
    actions: list[str] = field(default_factory=list)
    remaining: list[Finding] = field(default_factory=list)
    check: RunCheck | None = None


def _iso_mtime(path: Path) -> str:
    return datetime.fromtimestamp(os.lstat(path).st_mtime, UTC).isoformat()


def _mime_for(path: Path, ext: str) -> str:
    if ext in ("txt", "json", "md", "csv"):
        return MIME_TYPES[ext]
    with open(path, "rb") as f:
        head = f.read(SNIFF_BYTES)
    return detect_binary(head, ext if ext in MIME_TYPES else None).mime_type


def _salvage(data: bytes | None) -> dict[str, Any]:
    """Whatever a broken metadata.json still says, as a dict (empty when nothing parses)."""
    if data is None:
        return {}
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _text(old: dict[str, Any], key: str, default: str) -> str:
    value = old.get(key)
    return value if isinstance(value, str) and value and len(value) <= 200 else default


def _recovered_records(folder: Path, prefix: str, old: object) -> tuple[list[dict[str, Any]], list[str]]:
    """The records of the files of the entity-file form in ``folder`` (the run folder, or its prompting-process
    folder with ``prefix`` ``prompting_process/``), by sequence, and notes on those that cannot be listed (a second
    file with the same sequence, the reserved type 'metadata'). ``old`` is the broken document's list of records:
    a record of an unchanged file (same size and sha256) keeps its timestamp and metadata. Revisions are the
    caller's."""
    old_records = {str(r.get("filename")): r for r in old if isinstance(r, dict)} if isinstance(old, list) else {}
    files: dict[int, tuple[str, str, str]] = {}
    notes: list[str] = []
    for name in sorted(os.listdir(folder)):
        parsed = parse_entity_filename(name)
        if parsed is None or not (folder / name).is_file() or (folder / name).is_symlink():
            continue
        sequence, entity_type, ext = parsed
        if sequence in files or entity_type == "metadata":
            notes.append(f"{prefix}{name} was not listed: sequence {sequence} is taken by {prefix}{files[sequence][0]}"
                         if sequence in files else f"{prefix}{name} was not listed: 'metadata' is a reserved type")
            continue
        files[sequence] = (name, entity_type, ext)
    records: list[dict[str, Any]] = []
    for sequence in sorted(files):
        name, entity_type, ext = files[sequence]
        path = folder / name
        size, sha = file_digest(path)
        before = old_records.get(prefix + name, {})
        unchanged = before.get("size") == size and before.get("sha256") == sha
        records.append({
            "sequence": sequence,
            "type": entity_type,
            "filename": prefix + name,
            "timestamp": before["timestamp"] if unchanged and isinstance(before.get("timestamp"), str)
            else _iso_mtime(path),
            "metadata": before["metadata"] if unchanged and isinstance(before.get("metadata"), dict)
            else {"recovered": True},
            "size": size,
            "sha256": sha,
            "mime_type": _mime_for(path, ext),
        })
    return records, notes


def rebuild_document(folder: Path, run_id: str, old: dict[str, Any]) -> tuple[MetadataDocument, list[str]]:
    """A metadata document for the entity files in ``folder`` and the step files in its ``prompting_process``
    folder (never followed when it is a link: verify reports that), keeping what ``old`` (a broken doc) still says.

    Returns the document and notes on files that could not be listed (a second file with the same sequence).
    """
    entities, notes = _recovered_records(folder, "", old.get("entities"))
    process = folder / PROCESS_DIRNAME
    steps: list[dict[str, Any]] = []
    if process.is_dir() and not process.is_symlink():
        steps, step_notes = _recovered_records(process, f"{PROCESS_DIRNAME}/", old.get("prompting_process"))
        notes.extend(step_notes)
    # Every change of a run raises its revision by one; a record carries the revision its save made. The order of
    # the saves is lost, so the entities come first, then the steps.
    for revision, record in enumerate([*entities, *steps], start=1):
        record["revision"] = revision
    done = completed_outputs(e["type"] for e in entities)
    expected = old.get("expected_outputs")
    if not (isinstance(expected, list) and all(isinstance(t, str) and ENTITY_TYPE_PATTERN.fullmatch(t)
                                               for t in expected)):
        expected = done
    raw_state = old.get("current_state")
    state: dict[str, Any] = raw_state if isinstance(raw_state, dict) else {}
    stage = state.get("stage")
    step = state.get("step")
    owner = old.get("owner") if isinstance(old.get("owner"), dict) else None
    writers = [w for w in old["writers"] if isinstance(w, dict)] if isinstance(old.get("writers"), list) else []
    status = old.get("status")
    if status not in runformat.STATUSES or (status == runformat.RUNNING and owner is None and not writers):
        status = runformat.INTERRUPTED  # without a recorded owner nobody could ever tell that it ended
    now = runformat.utc_now()
    old_revision = old.get("revision")
    timestamp = old.get("timestamp")
    header: dict[str, Any] = {
        "run_id": run_id,
        "timestamp": timestamp if isinstance(timestamp, str) else (
            entities[0]["timestamp"] if entities else _iso_mtime(folder)),
        **{key: _text(old, key, "anonymous" if key == "user_id" else "unknown") for key in SETTINGS},
        "expected_outputs": list(dict.fromkeys(expected)),
        "current_state": {"stage": stage if isinstance(stage, int) and not isinstance(stage, bool) else 0,
                          "step": step if isinstance(step, str) and step else "recovered",
                          "progress": progress(expected, done)},
        "completed_outputs": done,
        "status": status,
        "updated_at": now,
        "finished_at": old.get("finished_at") if isinstance(old.get("finished_at"), str) else None,
        "revision": max(old_revision + 1 if isinstance(old_revision, int) else 0, len(entities) + len(steps) + 1),
        "owner": owner,
        "writers": writers or ([owner] if owner else []),
        "status_reason": REBUILT_REASON,
        "repaired_at": now,
        "prompting_process": steps,
    }
    return MetadataDocument(header, entities), notes


def _backup_name() -> str:
    return f".{METADATA_FILENAME}.corrupt-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}"


def repair_run(store: FolderStore, run_id: str) -> RunRepair:
    """Repair one run as far as the files allow; RunNotFoundError if there is no such folder."""
    result = RunRepair(run_id)
    before = check_run(store, run_id)
    if before.clean:
        result.check = before
        return result
    folder = store.run_folder(run_id)
    broken = {METADATA_MISSING, METADATA_CORRUPT, METADATA_FORMAT}
    rebuilt_doc = False
    lock = RunLock(folder)
    try:
        with lock.held():
            snapshot = read_snapshot_unlocked(folder)
            doc, problem = parse_document(snapshot.metadata, run_id)
            if problem is not None and problem.code in broken:
                if snapshot.metadata is not None:
                    backup = _backup_name()
                    replace_atomically(folder / backup, snapshot.metadata)
                    result.actions.append(f"kept the broken metadata.json as {backup}")
                rebuilt, notes = rebuild_document(folder, run_id, _salvage(snapshot.metadata))
                replace_atomically(folder / METADATA_FILENAME, rebuilt.to_bytes())
                rebuilt_doc = True
                doc = rebuilt.to_dict()
                result.actions.append(f"rebuilt metadata.json from {len(rebuilt.entities)} entity file(s) and "
                                      f"{len(doc['prompting_process'])} step file(s) (status {doc['status']})")
                result.actions.extend(notes)
            result.actions.extend(_set_aside_unlisted(folder, doc))
            for name in stale_temp_files(folder, snapshot.names, is_live(doc)):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(folder / name)
                    result.actions.append(f"removed leftover temp file {name}")
    finally:
        lock.close()
    if rebuilt_doc:
        note_in_index(store, run_id)
    result.check = check_run(store, run_id)
    result.remaining = result.check.findings
    return result


def _set_aside_unlisted(folder: Path, doc: dict[str, Any] | None) -> list[str]:
    """Rename entity files that the (possibly rebuilt) document does not list; the caller holds the run lock."""
    if doc is None:
        return []
    listed = {str(entity["filename"]) for entity in doc["entities"]}
    actions = []
    for name in sorted(os.listdir(folder)):
        if name in listed or parse_entity_filename(name) is None:
            continue
        target = UNACKNOWLEDGED_PREFIX + name
        suffix = 1
        while os.path.lexists(folder / target):
            suffix += 1
            target = f"{UNACKNOWLEDGED_PREFIX}{suffix}-{name}"
        os.rename(folder / name, folder / target)
        actions.append(f"moved unacknowledged entity file {name} aside as {target} (never listed; bytes kept)")
    return actions


def note_in_index(store: FolderStore, run_id: str) -> None:
    """Make listings show a rewritten run at once: the run index otherwise learns of it only when its round-robin
    check of unlistable runs comes round to it. Costs one small SQLite transaction. An index that does not exist is
    not created (the next listing builds it from the folders), and a failing index never fails a repair: the index
    is a cache of the folders, and it rechecks the run by itself later."""
    index = RunIndex(store)
    if not index.db_path.is_file():
        return
    try:
        with index:
            index.note(run_id)
    except (sqlite3.Error, OSError) as exc:
        log.warning("run index %s not updated for run %s (%s); listings catch up by themselves", index.db_path,
                    run_id, exc)


def repair_leftovers(store: Store, *, now: float | None = None) -> list[str]:
    """Finish half-done gc, import and run creation folders (a folder store), delete abandoned upload objects (a
    store without folders; judged at ``now``, default the store's clock); returns what was done."""
    found = finish_leftovers(store.runs_dir) if isinstance(store, FolderStore) else []
    return [f"removed {leftover.name} (left by an interrupted {MADE_BY[leftover.kind]})"
            for leftover in [*found, *store_uploads(store, remove=True, now=now)]]
