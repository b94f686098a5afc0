"""Checks of what a caller gives the recorder (settings, stage and step, entity metadata), before anything is
written: each raises a ValidationError that says what was wrong and what is accepted.

Strings must be encodable as UTF-8: a lone surrogate (``"\\ud800"``, which JSON can spell as an escape) would be
stored as an escape that other tools cannot decode, so it is refused at the entrance.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import InvalidMetadataError, ValidationError
from .redaction import redact


def unencodable(value: object) -> str | None:
    """Where a string inside ``value`` (parsed JSON: dicts, lists, scalars) is not encodable as UTF-8, else None."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            return f"character {exc.start} ({value[exc.start]!r}) is a lone surrogate, not a Unicode character"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            found = unencodable(key)
            if found is not None:
                return f"key {key!r}: {found}"
            found = unencodable(item)
            if found is not None:
                return f"{key!r}: {found}"
    elif isinstance(value, list):
        for position, item in enumerate(value):
            found = unencodable(item)
            if found is not None:
                return f"item {position}: {found}"
    return None


def check_text(name: str, value: str) -> str:
    """``value`` if it is encodable as UTF-8, else ValidationError naming ``name``."""
    problem = unencodable(value)
    if problem is not None:
        raise ValidationError(f"{name} must be valid Unicode text: {problem}")
    return value


def check_setting(name: str, value: object) -> str:
    """A run setting (config_name, execution_mode, safety_level, user_id): a non-empty string, at most 200
    characters, no NUL, valid Unicode."""
    if not isinstance(value, str) or not value or len(value) > 200 or "\0" in value:
        raise ValidationError(f"{name} must be a non-empty string of at most 200 characters, got {value!r:.60}")
    return check_text(name, value)


def check_stage(stage: object) -> None:
    if not isinstance(stage, int) or isinstance(stage, bool) or not 0 <= stage <= 99:
        raise ValidationError(f"stage must be an integer from 0 to 99, got {stage!r:.40}")


def check_step(step: object) -> str:
    if not isinstance(step, str) or not step or len(step) > 128:
        raise ValidationError(f"step must be a non-empty string of at most 128 characters, got {step!r:.40}")
    return check_text("step", step)


def check_error(stage: object, error_type: object, message: object) -> None:
    """The fields of an error entity (``save_error``): a stage, and error_type and message as valid text."""
    check_stage(stage)
    if not isinstance(message, str) or not isinstance(error_type, str):
        raise ValidationError("error_type and message must be strings")
    check_text("error_type", error_type)
    check_text("message", message)


def entity_metadata(metadata: object) -> dict[str, Any]:
    """A copy of an entity's metadata: a JSON-serialisable dict with string keys and valid Unicode strings, with
    the values of secret-looking keys redacted."""
    if metadata is None or metadata == {}:
        return {}
    if not isinstance(metadata, dict) or not all(isinstance(key, str) for key in metadata):
        raise InvalidMetadataError(f"entity metadata must be a dict with string keys, got {type(metadata).__name__}")
    try:
        copied: dict[str, Any] = json.loads(json.dumps(metadata, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidMetadataError(f"entity metadata must be JSON-serialisable: {exc}") from exc
    problem = unencodable(copied)
    if problem is not None:
        raise InvalidMetadataError(f"entity metadata must hold valid Unicode text: {problem}")
    redacted: dict[str, Any] = redact(copied)  # secrets never reach the store (redaction.py)
    return redacted
