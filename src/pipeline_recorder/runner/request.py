"""An execute request: the JSON body a client sends to start a pipeline, validated field by field.

Nothing is recorded for a body that fails here: every check runs before the run folder is made. Whatever the body
holds (a lone surrogate in any string, nesting a thousand levels deep, a huge list in an ignored field) gives an
InvalidRequestError that names the field and says what is accepted, never a crash.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .. import runfields
from ..errors import InvalidRequestError, ValidationError
from .configs import MAX_PACE_MS, ConfigCatalog, PipelineConfig
from .pipeline import describe, validate_run_settings
from .safety import DEFAULT_SAFETY_LEVEL, SAFETY_LEVELS

BODY_FIELDS = ("schema", "input_text", "execution_mode", "safety_level", "user_id", "session_id", "device_id", "wait",
               "pace_ms")
MAX_USER_ID = 128
# Deeper than any body a client means to send; walking it is bounded so a hostile one costs nothing.
MAX_BODY_DEPTH = 32
MAX_BODY_VALUES = 100_000


@dataclass(frozen=True)
class ExecuteRequest:
    """A validated execute body."""

    config: PipelineConfig
    input_text: str
    execution_mode: str
    safety_level: str
    user_id: str
    wait: bool
    pace_ms: int | None
    session_id: str | None = None  # a classroom session and a device, when the host sends them (runfields.py)
    device_id: str | None = None


def check_text(body: Mapping[object, object]) -> None:
    """Every string (keys too) must be encodable Unicode text, and the nesting bounded; InvalidRequestError if not.

    A JSON body may carry ``"\\ud800"``, a lone surrogate: valid JSON, but no text. Stored, it would make the run's
    files unreadable as UTF-8; refused here, it is a clear 400 before anything exists.
    """
    pending: list[tuple[str, object, int]] = [("", body, 0)]
    seen = 0
    while pending:
        path, value, depth = pending.pop()
        seen += 1
        if depth > MAX_BODY_DEPTH or seen > MAX_BODY_VALUES:
            raise InvalidRequestError(f"the request body nests deeper than {MAX_BODY_DEPTH} levels or holds more "
                                      f"than {MAX_BODY_VALUES} values; send a flat object of {', '.join(BODY_FIELDS)}")
        if isinstance(value, str):
            _require_encodable(path or "a value", value)
        elif isinstance(value, Mapping):
            for key, item in value.items():
                name = f"{path}.{key}" if path else str(key)
                if isinstance(key, str):
                    _require_encodable(f"the key of {name!r}", key)
                pending.append((name, item, depth + 1))
        elif isinstance(value, list | tuple):
            pending.extend((f"{path}[{index}]", item, depth + 1) for index, item in enumerate(value))


def _require_encodable(where: str, text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = text[exc.start]
        raise InvalidRequestError(f"{where} holds U+{ord(bad):04X} at position {exc.start}, a lone surrogate that is "
                                  "not text; send valid Unicode (UTF-8) text") from None


def parse_execute_body(body: object, catalog: ConfigCatalog, min_safety_level: str = "off") -> ExecuteRequest:
    """The validated request, or InvalidRequestError (a bad body) / UnknownConfigError (an unknown schema)."""
    if not isinstance(body, Mapping):
        raise InvalidRequestError(f"the request body must be a JSON object with {', '.join(BODY_FIELDS)}, "
                                  f"got {describe(body)}")
    check_text(body)
    missing = [name for name in ("schema", "input_text", "execution_mode") if name not in body]
    if missing:
        raise InvalidRequestError(f"the request body lacks {', '.join(missing)}; required are schema, input_text "
                                  "and execution_mode (safety_level, user_id, wait and pace_ms are optional)")
    schema = body["schema"]
    if not isinstance(schema, str) or not schema:
        raise InvalidRequestError(f"schema must be the name of a config, got {describe(schema)}")
    mode = body["execution_mode"]
    level = body.get("safety_level", DEFAULT_SAFETY_LEVEL)
    text = body["input_text"]
    validate_run_settings(mode, level, text)
    assert isinstance(mode, str) and isinstance(level, str) and isinstance(text, str)  # checked just above
    allowed = allowed_levels(min_safety_level)
    if level not in allowed:
        raise InvalidRequestError(f"safety_level {level!r} is below the lowest level this server allows "
                                  f"({min_safety_level!r}); accepted are {', '.join(allowed)}")
    user_id = body.get("user_id", "anonymous")
    if (not isinstance(user_id, str) or not user_id.strip() or len(user_id) > MAX_USER_ID
            or not user_id.isprintable()):
        raise InvalidRequestError(f"user_id must be a non-empty printable string of at most {MAX_USER_ID} "
                                  f"characters, got {describe(user_id)}")
    wait = body.get("wait", True)
    if not isinstance(wait, bool):
        raise InvalidRequestError(f"wait must be true or false, got {describe(wait)}")
    pace = body.get("pace_ms")
    if pace is not None and (not isinstance(pace, int) or isinstance(pace, bool) or not 0 <= pace <= MAX_PACE_MS):
        raise InvalidRequestError(f"pace_ms must be an integer from 0 to {MAX_PACE_MS} (milliseconds to wait after "
                                  f"each entity), got {describe(pace)}")
    try:
        session_id = runfields.check_group_id("session_id", body.get("session_id"))
        device_id = runfields.check_group_id("device_id", body.get("device_id"))
    except ValidationError as exc:
        raise InvalidRequestError(str(exc)) from None
    config = catalog.get(schema)  # UnknownConfigError (404) after the 400 checks: a bad body is a bad body
    return ExecuteRequest(config, text, mode, level, user_id, wait, pace, session_id, device_id)


def allowed_levels(min_safety_level: str) -> tuple[str, ...]:
    """The safety levels at least as strict as ``min_safety_level`` (``kids`` is the strictest)."""
    if min_safety_level not in SAFETY_LEVELS:
        raise InvalidRequestError(f"the lowest allowed safety level must be one of {', '.join(SAFETY_LEVELS)}, "
                                  f"got {describe(min_safety_level)}")
    return SAFETY_LEVELS[:SAFETY_LEVELS.index(min_safety_level) + 1]
