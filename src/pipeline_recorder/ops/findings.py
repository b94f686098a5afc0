"""What ``verify`` finds: the finding codes (which of them ``verify --repair`` mends), one finding, the check of a
run and of a store, and the check of a metadata.json's bytes against the format -- shared by the folder store's
check (``verify.py``), the check through the Store interface (``verify_stored.py``) and ``repair.py``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import runformat
from ..validation import unencodable

HASH_CHUNK = 1024 * 1024

# Finding codes. Fixable ones are what `verify --repair` mends; the others it reports and leaves alone.
METADATA_MISSING = "metadata_missing"
METADATA_CORRUPT = "metadata_corrupt"
METADATA_FORMAT = "metadata_format"
TEMP_FILE = "temp_file"
LEFTOVER = "leftover"
ENTITY_MISSING = "entity_missing"
ENTITY_NOT_REGULAR = "entity_not_regular"
ENTITY_SIZE = "entity_size"
ENTITY_HASH = "entity_hash"
UNLISTED_ENTITY = "unlisted_entity"
UNEXPECTED_FILE = "unexpected_file"
UNREADABLE = "unreadable"
FIXABLE = frozenset({METADATA_MISSING, METADATA_CORRUPT, METADATA_FORMAT, TEMP_FILE, LEFTOVER, UNLISTED_ENTITY})

# An entity file that no metadata.json lists is the file of a save that was never acknowledged: its writer died
# between renaming the file into place and listing it (the lock rules out a writer still at work). Repair moves it
# aside under this prefix: a helper file, so the run verifies clean, with every byte kept.
UNACKNOWLEDGED_PREFIX = ".unacknowledged-"


@dataclass(frozen=True)
class Finding:
    """One thing wrong with a run (``run_id``) or with the store (``run_id`` None)."""

    run_id: str | None
    code: str
    message: str
    path: Path | None = None

    @property
    def fixable(self) -> bool:
        return self.code in FIXABLE

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "code": self.code, "message": self.message, "fixable": self.fixable,
                "path": str(self.path) if self.path is not None else None}


@dataclass
class RunCheck:
    """What verify found in one run folder. ``document`` is the parsed metadata.json when it follows the format."""

    run_id: str
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    document: dict[str, Any] | None = None
    live: bool = False

    @property
    def clean(self) -> bool:
        return not self.findings


@dataclass
class StoreCheck:
    """Checks of several runs plus store-level findings."""

    runs: list[RunCheck] = field(default_factory=list)
    store_findings: list[Finding] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return [*self.store_findings, *(f for run in self.runs for f in run.findings)]

    @property
    def clean(self) -> bool:
        return not self.findings


def parse_document(data: bytes | None, folder_name: str) -> tuple[dict[str, Any] | None, Finding | None]:
    """The document if metadata.json follows the format, else the finding that says why not."""
    run_id = folder_name
    if data is None:
        return None, Finding(run_id, METADATA_MISSING, "metadata.json is missing")
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        return None, Finding(run_id, METADATA_CORRUPT, f"metadata.json is not valid JSON ({exc})")
    except RecursionError:
        return None, Finding(run_id, METADATA_CORRUPT, "metadata.json is nested too deeply to be read")
    found = runformat.problems(doc, folder_name)
    problem = unencodable(doc) if not found else None
    if problem is not None:
        found = [f"it holds text that is not valid Unicode: {problem}"]
    if found:
        return None, Finding(run_id, METADATA_FORMAT,
                             "metadata.json does not follow the format: " + "; ".join(found[:5]))
    assert isinstance(doc, dict)
    return doc, None
