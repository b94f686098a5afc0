"""Reading a metadata.json: the whole parse, the incremental parse from the version before (the parse-since
protocol every reader of a changing run uses) and a writer's live copy brought up to date from each new version.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from .. import runformat
from ..errors import CorruptRunError
from ..validation import unencodable
from . import layout
from .writer import MetadataDocument

# Where a lone surrogate can come from: a \\uD800-\\uDFFF escape, or the bytes ED A0-BF (json.loads decodes
# bytes with "surrogatepass"). Only a document that holds one of these is searched string by string.
_MAYBE_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")


def parse_metadata(data: bytes, where: str | os.PathLike[str]) -> dict[str, Any]:
    """``data`` parsed and checked against the run format. CorruptRunError saying what is wrong, also for a string
    that is not valid Unicode (a lone surrogate): no reader could encode it again."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorruptRunError(f"{where} is not valid JSON: {exc}") from exc
    except RecursionError:
        raise CorruptRunError(f"{where} is nested too deeply to be a run's metadata") from None
    found = runformat.problems(doc)
    if found:
        raise CorruptRunError(f"{where} does not follow the run format: {'; '.join(found[:3])}")
    assert isinstance(doc, dict)
    try:
        problem = unencodable(doc) if _MAYBE_SURROGATE.search(data) else None
    except RecursionError:
        raise CorruptRunError(f"{where} is nested too deeply to be a run's metadata") from None
    if problem is not None:
        raise CorruptRunError(f"{where} holds text that is not valid Unicode: {problem}")
    return doc


@dataclass(frozen=True)
class ParsedRun:
    """One parse of a metadata.json, kept so that the next version of the same file can be parsed incrementally.

    ``doc`` is read-only: the next parse shares its entity records (callers that change a document copy it
    first). ``raw[start:end]`` are the entity fragments exactly as the file held them (``start`` is -1 when the file
    was not in the writer's layout), and ``increasing`` tells that every record's sequence is an integer greater
    than the one before, so that a record appended with a greater sequence cannot repeat one.
    """

    doc: dict[str, Any]
    raw: bytes | bytearray
    start: int
    end: int
    increasing: bool
    shared: int = 0  # how many leading entity records were taken over from the previous parse, unparsed
    head_length: int = 0  # how many bytes the header takes at the start of ``raw``, padding and all (writer's layout)

    @property
    def fragments_length(self) -> int:
        return self.end - self.start


def _increasing(entities: list[Any], last: int | None = None) -> bool:
    for entity in entities:
        sequence = entity.get("sequence") if isinstance(entity, dict) else None
        if type(sequence) is not int or (last is not None and sequence <= last):
            return False
        last = sequence
    return True


def _parse_whole(data: bytes, where: str | os.PathLike[str]) -> ParsedRun:
    doc = parse_metadata(data, where)
    found = layout.find_portion(data)
    if found is None or layout.unpad_head(data[:found.head_end]) != layout.head_bytes(doc):
        return ParsedRun(doc, data, -1, -1, _increasing(doc["entities"]))
    return ParsedRun(doc, data, found.start, found.end, _increasing(doc["entities"]), 0, found.head_end)


def _parse_appended(data: bytes, previous: ParsedRun) -> ParsedRun | None:
    """``data`` parsed reusing ``previous``: only the header and the records appended since are parsed and checked.
    None when that cannot be done with certainty (the caller then parses the file whole): the layout is not the
    writer's, the records already known are not byte for byte at the start of the list (a repair rewrote them, some
    were removed, the file was edited by hand), or anything new fails a check (the whole parse then words the error
    exactly as always)."""
    old_entities: list[dict[str, Any]] = previous.doc["entities"]
    old_length = previous.fragments_length
    if previous.start < 0 or not previous.increasing or (not old_entities and old_length):
        return None
    found = layout.find_portion(data)
    if found is None or found.start + old_length > found.end:  # not the layout, or fewer records than before
        return None
    head_length, start, end = found.head_end, found.start, found.end
    # One memcmp, no copy: the records already parsed must be exactly where they were.
    if old_length and not data.startswith(memoryview(previous.raw)[previous.start:previous.end], start):
        return None
    added_at = layout.appended_at(data, start, end, old_length)
    if added_at is None:
        return None
    try:
        # json.loads decodes bytes this way too (a file that starts with "{\n" is UTF-8).
        header = json.loads(layout.header_document(data[:head_length]).decode("utf-8", "surrogatepass"))
        added = json.loads(layout.fragments_document(data, added_at, end)) if added_at < end else []
    except (ValueError, RecursionError):  # the whole parse words the error
        return None
    if (not isinstance(header, dict) or layout.head_bytes(header) != layout.unpad_head(data[:head_length])
            or (added_at < end and not added) or runformat.problems(header)
            or _MAYBE_SURROGATE.search(data, 0, head_length) or _MAYBE_SURROGATE.search(data, added_at, end)):
        return None
    last = old_entities[-1]["sequence"] if old_entities else None
    sequences: set[Any] = set()
    for position, entity in enumerate(added, len(old_entities)):
        if runformat.entity_problems(position, entity, sequences):
            return None
    if not _increasing(added, last):
        return None
    header["entities"] = old_entities + added if added else list(old_entities)
    return ParsedRun(header, data, start, end, True, len(old_entities), head_length)


def parse_metadata_since(data: bytes, where: str | os.PathLike[str], previous: ParsedRun | None) -> ParsedRun:
    """``data``, a metadata.json, parsed and checked like parse_metadata -- with the same result and the same
    errors -- but without parsing what ``previous`` (the parse of an earlier version of the same file) holds when
    records were only appended since: those records are compared byte for byte (one memcmp) and shared, and only the
    header and the new records are parsed and checked; what still grows with the run is copying bytes and the list
    of references (docs/PERFORMANCE.md, "Reading a changed run"). Every reader of a changing run (the
    recorder, the change feed, the HTTP status cache) reads through here. CorruptRunError."""
    if previous is not None:
        parsed = _parse_appended(data, previous)
        if parsed is not None:
            return parsed
    return _parse_whole(data, where)


class LiveDocument:
    """A writer's in-memory copy of a run's document, brought up to date from each new stored version: records
    appended since are the only ones parsed, and the fragments already serialised are kept (writer.py).

    ``version`` is the store's version of what ``doc`` holds; None when memory may hold what the store does not
    (after a failed change), so that the next read takes the stored document whole."""

    def __init__(self) -> None:
        self.doc: MetadataDocument | None = None
        self.version: Hashable | None = None
        self.increasing = False  # every record's sequence is an integer greater than the one before (ParsedRun)

    def known(self) -> Hashable | None:
        return self.version if self.doc is not None else None

    def forget(self) -> None:
        self.doc, self.version = None, None

    def adopt(self, doc: MetadataDocument, version: Hashable | None) -> None:
        """``doc`` was just stored (as ``version``) by this writer."""
        self.doc, self.version = doc, version
        self.increasing = self.increasing or not doc.entities

    def absorb(self, data: bytes, version: Hashable, where: str | os.PathLike[str]) -> None:
        """Take a new stored version (CorruptRunError when it is not of the format)."""
        previous = None
        if self.doc is not None and self.version is not None:
            # What this writer last read or wrote, as the parse it is (its fragments are the bytes it wrote).
            fragments = self.doc.fragments
            previous = ParsedRun({**self.doc.header, "entities": self.doc.entities}, fragments, 0, len(fragments),
                                 self.increasing)
        parsed = parse_metadata_since(data, where, previous)
        self.version = version
        self.increasing = parsed.increasing
        if previous is not None and parsed.shared == len(previous.doc["entities"]) and self.doc is not None:
            # Only appended to: keep the fragments already serialised and add the new records.
            self.doc.header = {key: value for key, value in parsed.doc.items() if key != "entities"}
            for entity in parsed.doc["entities"][parsed.shared:]:
                self.doc.add_entity(entity)
        else:
            self.doc = MetadataDocument.from_dict(parsed.doc)
