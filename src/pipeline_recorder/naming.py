"""Names of runs, entity types and entity files: the rules of DESIGN.md section 2, written once."""

from __future__ import annotations

import re
import uuid

from .errors import InvalidEntityTypeError, InvalidRunIdError

RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
ENTITY_TYPE_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,63}")
# f"{sequence:02d}_{entity_type}.{ext}"; sequences may grow past two digits.
ENTITY_FILENAME_PATTERN = re.compile(r"(?P<sequence>[0-9]{2,})_(?P<type>[a-z][a-z0-9_]{0,63})\.(?P<ext>[a-z0-9]{1,8})")

KNOWN_ENTITY_TYPES = (
    "input",
    "translation",
    "safety",
    "interception",
    "safety_pre_output",
    "output_image",
    "output_audio",
    "output_video",
    "error",
)
RESERVED_ENTITY_TYPES = frozenset({"metadata"})

METADATA_FILENAME = "metadata.json"
RUNS_DIRNAME = "pipeline_runs"


def new_run_id() -> str:
    """A fresh run id: a random UUID, the one id every part of a run uses."""
    return str(uuid.uuid4())


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def validate_run_id(run_id: object) -> str:
    """Return ``run_id`` if it is a valid run id, else raise InvalidRunIdError saying what is accepted."""
    if not isinstance(run_id, str) or RUN_ID_PATTERN.fullmatch(run_id) is None:
        raise InvalidRunIdError(
            f"invalid run id {_shown(run_id)}: a run id is 1 to 128 characters of letters, digits, '_' and '-', "
            "starting with a letter or digit"
        )
    return run_id


def validate_entity_type(entity_type: object) -> str:
    """Return ``entity_type`` if it may name an entity, else raise InvalidEntityTypeError."""
    if not isinstance(entity_type, str) or ENTITY_TYPE_PATTERN.fullmatch(entity_type) is None:
        raise InvalidEntityTypeError(
            f"invalid entity type {_shown(entity_type)}: an entity type is 1 to 64 characters of lowercase "
            "letters, digits and '_', starting with a letter (e.g. 'input', 'output_image')"
        )
    if entity_type in RESERVED_ENTITY_TYPES:
        raise InvalidEntityTypeError(
            f"entity type {entity_type!r} is reserved: it would be confused with the run's own metadata.json"
        )
    return entity_type


def entity_filename(sequence: int, entity_type: str, ext: str) -> str:
    return f"{sequence:02d}_{entity_type}.{ext}"


# The prompting process of a run (the steps by which its prompt came about) lives in this subfolder of the run
# folder, numbered on its own: prompting_process/001_input.txt, 002_parameters.json, ...
PROCESS_DIRNAME = "prompting_process"


def process_filename(sequence: int, entity_type: str, ext: str) -> str:
    """The stored name of a prompting-process step, relative to the run folder."""
    return f"{PROCESS_DIRNAME}/{sequence:03d}_{entity_type}.{ext}"


def parse_stored_filename(filename: str) -> tuple[int, str, str] | None:
    """``(sequence, type, ext)`` of an entity's name or of a prompting-process step's (``prompting_process/`` and
    an entity-file name), else None: the names a run's records may list."""
    folder, slash, name = filename.partition("/")
    if not slash:
        return parse_entity_filename(filename)
    return parse_entity_filename(name) if folder == PROCESS_DIRNAME else None


def parse_entity_filename(filename: str) -> tuple[int, str, str] | None:
    """``(sequence, type, ext)`` for a name of the entity-file form, else None (helper files start with '.')."""
    match = ENTITY_FILENAME_PATTERN.fullmatch(filename)
    if match is None:
        return None
    return int(match["sequence"]), match["type"], match["ext"]
