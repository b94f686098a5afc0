"""The research fields of a run: what kind of recorder made it, the session and device it belongs to, which
model ran each stage, and the notes and tags people put on it. Their keys, their defaults, and their checks.

Every new run holds all of them in its metadata.json; a run written before they existed reads with the defaults
(``with_defaults``), so the API, the CLI, the viewer and the listing never see one without them::

    kind           "pipeline"      which recorder made the run: ^[a-z][a-z0-9_]{0,63}$ ("canvas_workflow", ...)
    session_id     null            a classroom session: a run id (^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$) or null
    device_id      null            a device or workstation: the same pattern, or null
    models_used    {}              stage key -> "backend/model", e.g. {"stage1_safety": "ollama/gpt-oss:20b"}
    tags           []              up to 32 distinct labels of 1-64 characters, no commas or control characters
    notes          ""              free text, at most 10,000 characters
    prompting_process  []          records of the prompting process's steps, like entity records, with their own
                                   sequence; files prompting_process/001_input.txt, 002_parameters.json, ...

Each check raises a ValidationError that says what was wrong and what is accepted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .errors import ValidationError
from .naming import ENTITY_TYPE_PATTERN, RUN_ID_PATTERN
from .validation import check_text

DEFAULT_KIND = "pipeline"
KIND_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,63}")
MAX_TAGS = 32
MAX_TAG_LENGTH = 64
MAX_NOTES = 10_000
MAX_MODELS = 64
MAX_MODEL_LENGTH = 200
# The backend part of "backend/model": a short lower-case name (ollama, comfyui, openai, embedded, ...).
_BACKEND = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

# The keys in the order a new run's metadata.json holds them, with the value an older run reads as.
DEFAULTS: dict[str, Any] = {
    "kind": DEFAULT_KIND,
    "session_id": None,
    "device_id": None,
    "models_used": {},
    "tags": [],
    "notes": "",
    # The steps by which the prompt came about (recorder.save_process_step): entity-like records, numbered on
    # their own, files under prompting_process/.
    "prompting_process": [],
}
KEYS = tuple(DEFAULTS)


def default(key: str) -> Any:
    """A fresh copy of a field's default (lists and dicts are never shared between documents)."""
    value = DEFAULTS[key]
    return type(value)() if isinstance(value, dict | list) else value


def with_defaults(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` (a parsed metadata.json, or its header) with every field it lacks set to its default, in place."""
    for key in KEYS:
        if key not in doc:
            doc[key] = default(key)
    return doc


def check_kind(value: object) -> str:
    if not isinstance(value, str) or KIND_PATTERN.fullmatch(value) is None:
        raise ValidationError(f"kind must be a lower-case name matching ^[a-z][a-z0-9_]{{0,63}}$ (e.g. "
                              f"'pipeline', 'canvas_workflow'), got {value!r:.80}")
    return value


def check_group_id(name: str, value: object) -> str | None:
    """A session_id or device_id: None, or a string of the run-id pattern."""
    if value is None:
        return None
    if not isinstance(value, str) or RUN_ID_PATTERN.fullmatch(value) is None:
        raise ValidationError(f"{name} must be null or 1-128 letters, digits, '_' or '-' starting with a letter or "
                              f"digit (like a run id), got {value!r:.80}")
    return value


def check_model(stage_key: object, model: object) -> tuple[str, str]:
    """One entry of ``models_used``: a stage key (an entity-type-like name) and ``"backend/model"``."""
    if not isinstance(stage_key, str) or ENTITY_TYPE_PATTERN.fullmatch(stage_key) is None:
        raise ValidationError(f"a models_used stage key must match ^[a-z][a-z0-9_]{{0,63}}$ (e.g. "
                              f"'stage1_safety'), got {stage_key!r:.80}")
    text = model if isinstance(model, str) else ""
    backend, slash, name = text.partition("/")
    if (not slash or _BACKEND.fullmatch(backend) is None or not name.strip() or len(text) > MAX_MODEL_LENGTH
            or _CONTROL.search(name)):
        raise ValidationError(f"the model of {stage_key!r} must be 'backend/model' (a lower-case backend name, a "
                              f"'/', then the model, at most {MAX_MODEL_LENGTH} characters, e.g. "
                              f"'ollama/gpt-oss:20b'), got {model!r:.80}")
    return stage_key, check_text(f"the model of {stage_key!r}", text)


def check_models(value: object) -> dict[str, str]:
    """A whole ``models_used`` object (stage key -> "backend/model")."""
    if not isinstance(value, Mapping):
        raise ValidationError(f"models_used must be an object of stage key -> 'backend/model', got "
                              f"{type(value).__name__}")
    if len(value) > MAX_MODELS:
        raise ValidationError(f"models_used holds {len(value)} stages; at most {MAX_MODELS} are accepted")
    return dict(check_model(key, model) for key, model in value.items())


def check_tag(value: object) -> str:
    """One tag: 1-64 characters after trimming spaces, no comma (the CLI and URLs list tags with commas), no
    control characters."""
    tag = value.strip() if isinstance(value, str) else None
    if not tag or len(tag) > MAX_TAG_LENGTH or "," in tag or _CONTROL.search(tag):
        raise ValidationError(f"a tag must be 1-{MAX_TAG_LENGTH} characters without commas or control characters, "
                              f"got {value!r:.80}")
    return check_text("a tag", tag)


def check_tags(value: object) -> list[str]:
    """A list of tags, trimmed, duplicates dropped (first kept), at most MAX_TAGS."""
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ValidationError(f"tags must be a list of strings, got {type(value).__name__}")
    tags = list(dict.fromkeys(check_tag(tag) for tag in value))
    if len(tags) > MAX_TAGS:
        raise ValidationError(f"a run takes at most {MAX_TAGS} tags, got {len(tags)}")
    return tags


def check_notes(value: object) -> str:
    """The notes: text of at most MAX_NOTES characters, no NUL."""
    if not isinstance(value, str) or len(value) > MAX_NOTES or "\0" in value:
        raise ValidationError(f"notes must be text of at most {MAX_NOTES} characters without NUL, got "
                              f"{type(value).__name__} {value!r:.60}")
    return check_text("notes", value)


def group_filter(name: str, value: object) -> str | None:
    """A listing filter on kind, session_id or device_id: None (no filter) or a value of the field's pattern."""
    if value is None:
        return None
    if name == "kind":
        return check_kind(value)
    return check_group_id(name, value)


def tag_filter(value: object) -> str | None:
    """A listing filter on one tag (the runs that carry it)."""
    return None if value is None else check_tag(value)


def listed(doc: dict[str, Any]) -> dict[str, Any]:
    """The fields as the run listing indexes them, from a stored document that may be old or hand-edited: a value
    of the wrong shape reads as the default (a run is never hidden for it)."""
    kind = doc.get("kind")
    tags = doc.get("tags")
    found: dict[str, Any] = {"kind": kind if isinstance(kind, str) and KIND_PATTERN.fullmatch(kind) else DEFAULT_KIND}
    for name in ("session_id", "device_id"):
        value = doc.get(name)
        found[name] = value if isinstance(value, str) and RUN_ID_PATTERN.fullmatch(value) else None
    found["tags"] = [tag for tag in tags if isinstance(tag, str)] if isinstance(tags, list) else []
    return found


def check_grouping(kind: str | None = None, session_id: str | None = None, device_id: str | None = None) \
        -> dict[str, str]:
    """The kind, session and device given (checked; those left out are not in the answer)."""
    checked: dict[str, str] = {}
    if kind is not None:
        checked["kind"] = check_kind(kind)
    for name, value in (("session_id", session_id), ("device_id", device_id)):
        group = check_group_id(name, value)
        if group is not None:
            checked[name] = group
    return checked


def stored_records(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Every record of a file the run holds: its entities, then the steps of its prompting process (for the tools
    that check, copy or pack every file: verify, export, import)."""
    steps = doc.get("prompting_process")
    return [*doc.get("entities", []), *(step for step in steps if isinstance(step, dict))] \
        if isinstance(steps, list) else list(doc.get("entities", []))
