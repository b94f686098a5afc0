"""What the metadata.json document holds: its keys, its statuses, a new run's header, its checks, finding an
entity record and the listing summary of a run. How it lies in bytes, is written and is read: ``document/``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from . import runfields
from .errors import EntityNotFoundError
from .naming import RUN_ID_PATTERN, parse_entity_filename, validate_entity_type

# The keys of the original format, always present, in this order.
ORIGINAL_KEYS = (
    "run_id",
    "timestamp",
    "config_name",
    "execution_mode",
    "safety_level",
    "user_id",
    "expected_outputs",
    "current_state",
    "completed_outputs",
    "entities",
)
# Additions every part agrees on (DESIGN.md section 2), plus who writes the run, for liveness: ``owner`` is the
# process that wrote last, ``writers`` the last few distinct writing processes (see liveness.py).
ADDED_KEYS = ("status", "updated_at", "finished_at", "revision", "owner", "writers")
# Who writes the run (pids, host names, boot ids): for liveness only, never told to readers of the API.
WRITER_KEYS = frozenset({"owner", "writers"})
ENTITY_KEYS = ("sequence", "type", "filename", "timestamp", "metadata", "size", "sha256", "mime_type", "revision")

RUNNING = "running"
INTERRUPTED = "interrupted"
TERMINAL_STATUSES = frozenset({"completed", "failed", "blocked", "cancelled"})
STATUSES = frozenset({RUNNING, INTERRUPTED, *TERMINAL_STATUSES})


def utc_now() -> str:
    return datetime.now(UTC).isoformat()


def new_header(
    *,
    run_id: str,
    config_name: str,
    execution_mode: str,
    safety_level: str,
    user_id: str,
    expected_outputs: Iterable[str],
    owner: dict[str, Any],
    fields: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A new run's header; ``fields`` are its research fields (runfields.py), checked by the caller, the rest
    of them set to their defaults."""
    now = utc_now()
    expected = list(dict.fromkeys(expected_outputs))
    return {
        "run_id": run_id,
        "timestamp": now,
        "config_name": config_name,
        "execution_mode": execution_mode,
        "safety_level": safety_level,
        "user_id": user_id,
        "expected_outputs": expected,
        "current_state": {"stage": 0, "step": "initialized", "progress": f"0/{len(expected)}"},
        "completed_outputs": [],
        "status": RUNNING,
        "updated_at": now,
        "finished_at": None,
        "revision": 1,
        **{key: (fields or {}).get(key, runfields.default(key)) for key in runfields.KEYS},
        "owner": owner,
        "writers": [owner],
    }


def problems(doc: object, folder_name: str | None = None) -> list[str]:
    """What is wrong with a parsed metadata.json, as sentences; empty when it follows the format."""
    if not isinstance(doc, dict):
        return ["metadata.json is not a JSON object"]
    found = [f"key {key!r} is missing" for key in (*ORIGINAL_KEYS, "status", "revision") if key not in doc]
    if found:
        return found
    run_id = doc["run_id"]
    if not isinstance(run_id, str) or RUN_ID_PATTERN.fullmatch(run_id) is None:
        found.append(f"run_id {run_id!r} is not a valid run id")
    elif folder_name is not None and run_id != folder_name:
        found.append(f"run_id {run_id!r} does not match its folder {folder_name!r}")
    if doc["status"] not in STATUSES:
        found.append(f"status {doc['status']!r} is not one of {sorted(STATUSES)}")
    if not isinstance(doc["revision"], int):
        found.append("revision is not an integer")
    state = doc["current_state"]
    if not isinstance(state, dict) or not {"stage", "step", "progress"} <= set(state):
        found.append("current_state lacks stage, step or progress")
    for key in ("expected_outputs", "completed_outputs", "entities"):
        if not isinstance(doc[key], list):
            found.append(f"{key} is not a list")
    if found:
        return found
    sequences: set[int] = set()
    for position, entity in enumerate(doc["entities"]):
        found.extend(entity_problems(position, entity, sequences))
    return found


def entity_problems(position: int, entity: object, sequences: set[Any]) -> list[str]:
    """What is wrong with the entity record at ``position`` of a document, ``sequences`` holding those of the
    records before it (this record's sequence is added to it). The check of one record alone, so that a reader
    that already checked a document's earlier records can check only the records appended since."""
    if not isinstance(entity, dict) or not set(ENTITY_KEYS) - {"revision"} <= set(entity):
        return [f"entity #{position} lacks some of {list(ENTITY_KEYS)}"]
    found = []
    parsed = parse_entity_filename(str(entity["filename"]))
    if parsed is None or parsed[0] != entity["sequence"] or parsed[1] != entity["type"]:
        found.append(f"entity #{position} has a filename {entity['filename']!r} that does not fit it")
    if entity["sequence"] in sequences:
        found.append(f"sequence {entity['sequence']} is listed twice")
    sequences.add(entity["sequence"])
    return found


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


# The listing summary of a run: what the run listing (HTTP, `ls`, the index) and retention show of each run.
# A run written before the research fields existed is summarised with their defaults (runfields.py).
SUMMARY_KEYS = ("run_id", "config_name", "execution_mode", "safety_level", "user_id", "status", "timestamp",
                "updated_at", "finished_at", "kind", "session_id", "device_id", "tags",
                "current_state", "progress", "entity_count")


def summarize(doc: dict[str, Any]) -> dict[str, Any]:
    """The listing summary of a run's metadata (liveness already applied to ``doc['status']``)."""
    state = doc.get("current_state")
    summary = {key: doc.get(key) for key in SUMMARY_KEYS[:-7]}
    summary.update(runfields.listed(doc))
    summary["current_state"] = state
    summary["progress"] = state.get("progress") if isinstance(state, dict) else None
    summary["entity_count"] = len(doc.get("entities") or [])
    return summary
