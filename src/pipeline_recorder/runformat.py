"""The metadata.json document: its keys, its statuses, how it is serialised and checked.

The document is written whole on every change (readers always see complete JSON), but serialising it does not
grow with run length: each entity record is serialised once, when it is added, and kept as bytes; a write joins
the small header with those cached fragments.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from . import runfields
from .naming import RUN_ID_PATTERN, parse_entity_filename

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


# One encoder, built once: json.dumps with indent= falls back to the pure-Python encoder, ~10x slower.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "))


def dumps_compact(value: Any) -> bytes:
    return _ENCODER.encode(value).encode()


# How the writer lays out the entity list after the header (see MetadataDocument.chunks): the header ends with
# ENTITIES_MARKER, then either EMPTY_ENTITIES or ENTITIES_OPEN + fragments joined by FRAGMENT_SEPARATOR +
# ENTITIES_CLOSE. A newline cannot occur inside a JSON string, so the marker cannot be part of a header value.
ENTITIES_MARKER = b'\n  "entities": '
EMPTY_ENTITIES = b"[]\n}\n"
ENTITIES_OPEN = b"[\n    "
FRAGMENT_SEPARATOR = b",\n    "
ENTITIES_CLOSE = b"\n  ]\n}\n"


def entity_portion(data: bytes, head_length: int) -> tuple[int, int] | None:
    """Where the joined entity fragments lie in ``data`` (start, end), given that its header, laid out as the
    writer lays it out, is ``data[:head_length]``; None when what follows is not the writer's layout."""
    if data.endswith(EMPTY_ENTITIES) and len(data) == head_length + len(EMPTY_ENTITIES):
        return head_length + 1, head_length + 1
    start, end = head_length + len(ENTITIES_OPEN), len(data) - len(ENTITIES_CLOSE)
    if start < end and data.startswith(ENTITIES_OPEN, head_length) and data.endswith(ENTITIES_CLOSE):
        return start, end
    return None


def head_bytes(doc: dict[str, Any]) -> bytes:
    """The start of metadata.json up to the entity list, for a header or a whole parsed document (its
    ``entities`` are skipped): what a file written from ``doc`` begins with."""
    # One top-level key per line (readable, diff-friendly); the entity list goes in as the last key.
    lines = [f"  {_ENCODER.encode(key)}: {_ENCODER.encode(value)}" for key, value in doc.items() if key != "entities"]
    return ("{\n" + ",\n".join([*lines, '  "entities": '])).encode()


class MetadataDocument:
    """The in-memory form of one metadata.json: a header dict and the entity list with cached JSON fragments."""

    def __init__(self, header: dict[str, Any], entities: list[dict[str, Any]]) -> None:
        self.header = header
        self.entities = entities
        self._fragments = bytearray()
        for entity in entities:
            self._append_fragment(entity)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> MetadataDocument:
        header = {key: value for key, value in doc.items() if key != "entities"}
        return cls(header, list(doc.get("entities", [])))

    def _append_fragment(self, entity: dict[str, Any]) -> None:
        if self._fragments:
            self._fragments += b",\n    "
        self._fragments += dumps_compact(entity)

    @property
    def fragments(self) -> bytearray:
        """The entity records as written: their JSON fragments joined (read-only for callers)."""
        return self._fragments

    def add_entity(self, entity: dict[str, Any]) -> None:
        self.entities.append(entity)
        self._append_fragment(entity)

    def head_bytes(self) -> bytes:
        """The serialised header: the start of metadata.json up to the entity list.

        It holds ``revision`` and ``updated_at``, which every write changes, so comparing it with the start of the
        file on disk tells whether another writer replaced the file since (see fileversion.py).
        """
        return head_bytes(self.header)

    def chunks(self) -> list[bytes | bytearray]:
        """metadata.json as a few buffers to write in order (no copy of the entity list: it can be megabytes)."""
        if not self.entities:
            return [self.head_bytes(), b"[]\n}\n"]
        return [self.head_bytes(), b"[\n    ", self._fragments, b"\n  ]\n}\n"]

    def to_bytes(self) -> bytes:
        """metadata.json as one bytes object."""
        return b"".join(self.chunks())

    def to_dict(self) -> dict[str, Any]:
        """A deep-enough copy: callers may change it without touching the document."""
        doc = {key: copy_json(value) for key, value in self.header.items()}
        doc["entities"] = [copy_json(entity) for entity in self.entities]
        return doc


def copy_json(value: Any) -> Any:
    """A deep copy of parsed JSON (dicts, lists, scalars), cheaper than copy.deepcopy."""
    if isinstance(value, dict):
        return {key: copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copy_json(item) for item in value]
    return value


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
