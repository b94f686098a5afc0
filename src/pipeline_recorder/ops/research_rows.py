"""The rows of the research table: one per entity of each selected run and one per prompting-process step, as the
columns of ``research_columns`` describe them (values typed: str, int, bool, aware datetime or None).

>>> from pipeline_recorder.ops.research_columns import NAMES
>>> sorted(set(NAMES) - set(_RUN_COLUMNS) - set(_RECORD_COLUMNS))
['schema_version', 'text', 'text_truncated']
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from ..errors import EntityNotFoundError
from ..runfields import DEFAULT_KIND
from ..stores.base import Store
from .research_columns import MAX_INLINE_TEXT_BYTES, NAMES, SCHEMA_VERSION
from .research_privacy import Privacy, is_text
from .research_select import SelectedRun
from .timespec import parse_stamp

# The pipeline's stages by the entity types they save, copied from the runner's one list of stages: a table row
# names the stage of its entity.
_STAGE_OF: dict[str, tuple[int, str]] = {}


def _stage_of(entity_type: str) -> tuple[int, str] | None:
    if not _STAGE_OF:
        from ..runner.stages import STAGES  # the runner's table; imported when a table is made, not with ops

        _STAGE_OF.update({entity: (stage.number, stage.name) for stage in STAGES for entity in stage.entities})
    return _STAGE_OF.get(entity_type)


def model_for(models_used: object, entity_type: str, stage: tuple[int, str] | None) -> str | None:
    """The backend/model of ``models_used`` that ran the stage of an entity: the key that names the entity type,
    else a key ``stage{N}_...`` of its stage (the one ending in the entity type first), else the stage's name."""
    if not isinstance(models_used, dict):
        return None
    if isinstance(models_used.get(entity_type), str):
        return str(models_used[entity_type])
    if stage is None:
        return None
    number, name = stage
    keys = [key for key in models_used if isinstance(key, str) and key.startswith(f"stage{number}_")]
    keys.sort(key=lambda key: not key.endswith(f"_{entity_type}"))
    for key in [*keys, name]:
        if isinstance(models_used.get(key), str):
            return str(models_used[key])
    return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _moment(value: object) -> datetime | None:
    return parse_stamp(value)


_RUN_COLUMNS = ("run_id", "kind", "session_id", "device_id", "user_id", "config_name", "execution_mode",
                "safety_level", "run_status", "run_started_at", "run_finished_at", "tags", "notes")
_RECORD_COLUMNS = ("record", "sequence", "entity_type", "stage", "stage_name", "model", "timestamp", "filename",
                   "mime_type", "size", "sha256", "entity_metadata")


def _run_values(store: Store, run: SelectedRun, privacy: Privacy) -> dict[str, Any]:
    doc = store.apply_liveness(run.run_id, dict(run.doc))  # a run whose writer died reads interrupted
    tags = doc.get("tags")
    return {
        "run_id": run.run_id,
        "kind": _text(doc.get("kind")) or DEFAULT_KIND,
        "session_id": _text(doc.get("session_id")),
        "device_id": _text(privacy.device(doc.get("device_id"))),
        "user_id": _text(privacy.user(doc.get("user_id"))),
        "config_name": _text(doc.get("config_name")),
        "execution_mode": _text(doc.get("execution_mode")),
        "safety_level": _text(doc.get("safety_level")),
        "run_status": _text(doc.get("status")),
        "run_started_at": _moment(doc.get("timestamp")),
        "run_finished_at": _moment(doc.get("finished_at")),
        "tags": json.dumps(tags if isinstance(tags, list) else [], ensure_ascii=False),
        "notes": None if privacy.no_text else _text(doc.get("notes")),
    }


def _inline_text(store: Store, run_id: str, record: dict[str, Any]) -> tuple[str, bool]:
    """The text of a text or JSON entity, cut at MAX_INLINE_TEXT_BYTES (never in the middle of a character)."""
    entity = store.open_entity(run_id, record)
    with entity.file as f:
        data = f.read(MAX_INLINE_TEXT_BYTES + 1)
    cut = len(data) > MAX_INLINE_TEXT_BYTES
    return data[:MAX_INLINE_TEXT_BYTES].decode("utf-8", errors="ignore" if cut else "replace"), cut


def _record_values(store: Store, run: SelectedRun, record: dict[str, Any], kind: str, models_used: object,
                   privacy: Privacy) -> dict[str, Any]:
    entity_type = str(record.get("type", ""))
    stage = _stage_of(entity_type) if kind == "entity" else None
    text_entity = is_text(record.get("mime_type"))
    words_left_out = privacy.no_text and text_entity
    text, cut = (None, False)
    if text_entity and not words_left_out:
        try:
            text, cut = _inline_text(store, run.run_id, record)
        except EntityNotFoundError:
            text = None  # listed but gone: the row still says what was recorded (verify reports the file)
    metadata = record.get("metadata")
    return {
        "schema_version": SCHEMA_VERSION,
        "record": kind,
        "sequence": _int(record.get("sequence")),
        "entity_type": entity_type,
        "stage": stage[0] if stage else None,
        "stage_name": stage[1] if stage else None,
        "model": model_for(models_used, entity_type, stage),
        "timestamp": _moment(record.get("timestamp")),
        "filename": _text(record.get("filename")),
        "mime_type": _text(record.get("mime_type")),
        "size": _int(record.get("size")),
        "sha256": None if words_left_out else _text(record.get("sha256")),
        "entity_metadata": None if words_left_out else json.dumps(metadata if isinstance(metadata, dict) else {},
                                                                  ensure_ascii=False, sort_keys=True),
        "text": text,
        "text_truncated": cut,
    }


def iter_rows(store: Store, runs: Sequence[SelectedRun], privacy: Privacy) -> Iterator[dict[str, Any]]:
    """Every row of the table for ``runs``, in order: each run's entities, then its prompting-process steps."""
    for run in runs:
        shared = _run_values(store, run, privacy)
        models_used = run.doc.get("models_used")
        records = [("entity", record) for record in run.doc.get("entities", [])]
        steps = run.doc.get("prompting_process")
        if isinstance(steps, list):
            records += [("prompting_process", step) for step in steps if isinstance(step, dict)]
        for kind, record in records:
            row = {**shared, **_record_values(store, run, record, kind, models_used, privacy)}
            yield {name: row[name] for name in NAMES}
