"""Reading a run's metadata.json: the whole parse, the incremental parse from the version before (the
parse-since protocol every reader of a changing run uses), a writer's live copy, the digest of a version (the
``/status`` ETag) and the version without who writes the run, and finding an entity record. With runformat.py
(keys, layout, the writer) this is the one place that knows where things lie in the file's bytes.

Where runs are stored is the Store interface's concern (``pipeline_recorder.stores``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from . import runformat
from .errors import CorruptRunError, EntityNotFoundError
from .naming import validate_entity_type
from .runformat import MetadataDocument
from .validation import unencodable

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
    found = runformat.problems(doc)
    if found:
        raise CorruptRunError(f"{where} does not follow the run format: {'; '.join(found[:3])}")
    assert isinstance(doc, dict)
    if _MAYBE_SURROGATE.search(data) and (problem := unencodable(doc)) is not None:
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


def _increasing(entities: list[Any], last: int | None = None) -> bool:
    for entity in entities:
        sequence = entity.get("sequence") if isinstance(entity, dict) else None
        if type(sequence) is not int or (last is not None and sequence <= last):
            return False
        last = sequence
    return True


def _parse_whole(data: bytes, where: str | os.PathLike[str]) -> ParsedRun:
    doc = parse_metadata(data, where)
    head = runformat.head_bytes(doc)
    portion = runformat.entity_portion(data, len(head)) if data.startswith(head) else None
    start, end = portion if portion is not None else (-1, -1)
    return ParsedRun(doc, data, start, end, _increasing(doc["entities"]))


def _parse_appended(data: bytes, previous: ParsedRun) -> ParsedRun | None:
    """``data`` parsed reusing ``previous``: only the header and the records appended since are parsed and checked.
    None when that cannot be done with certainty (the caller then parses the file whole): the layout is not the
    writer's, the records already known are not byte for byte at the start of the list (a repair rewrote them, some
    were removed, the file was edited by hand), or anything new fails a check (the whole parse then words the error
    exactly as always)."""
    old_entities: list[dict[str, Any]] = previous.doc["entities"]
    old_length = previous.end - previous.start
    if previous.start < 0 or not previous.increasing or (not old_entities and old_length):
        return None
    marker = data.find(runformat.ENTITIES_MARKER)
    if marker < 0:
        return None
    head_length = marker + len(runformat.ENTITIES_MARKER)
    portion = runformat.entity_portion(data, head_length)
    if portion is None:
        return None
    start, end = portion
    if start + old_length > end:  # fewer records than before
        return None
    if old_length:
        # One memcmp, no copy: the records already parsed must be exactly where they were.
        if not data.startswith(memoryview(previous.raw)[previous.start:previous.end], start):
            return None
        added_at = start + old_length
        if added_at != end:
            if not data.startswith(runformat.FRAGMENT_SEPARATOR, added_at):
                return None
            added_at += len(runformat.FRAGMENT_SEPARATOR)
    else:
        added_at = start
    try:
        # json.loads decodes bytes this way too (a file that starts with "{\n" is UTF-8).
        header = json.loads((data[:head_length] + runformat.EMPTY_ENTITIES).decode("utf-8", "surrogatepass"))
        added = (json.loads("[" + data[added_at:end].decode("utf-8", "surrogatepass") + "]")
                 if added_at < end else [])
    except ValueError:
        return None
    if (not isinstance(header, dict) or runformat.head_bytes(header) != data[:head_length]
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
    return ParsedRun(header, data, start, end, True, len(old_entities))


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
    appended since are the only ones parsed, and the fragments already serialised are kept (runformat).

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


def document_digest(parsed: ParsedRun, before: ParsedRun | None, before_hash: hashlib.blake2b | None) \
        -> tuple[str, hashlib.blake2b | None]:
    """A digest of the file's bytes (the ETag of /status) and the hash of its entity fragments.

    Hashing 3 MB costs ~3 ms, more than reading a changed run: when records were only appended, the hash of the
    fragments already known is extended with the new ones, and the digest covers the header, that hash and the end.
    The same bytes always give the same digest (the layout is found the same way whichever path parsed them)."""
    raw, start, end = memoryview(parsed.raw), parsed.start, parsed.end
    if start < 0:  # not in the writer's layout
        return hashlib.blake2b(raw, digest_size=12).hexdigest(), None
    if before is not None and before_hash is not None and 0 < parsed.shared == len(before.doc["entities"]):
        # parse_metadata_since checked that the fragments known before begin the new ones, byte for byte.
        entity_hash = before_hash.copy()
        entity_hash.update(raw[start + before.end - before.start:end])
    else:
        entity_hash = hashlib.blake2b(raw[start:end])
    outer = hashlib.blake2b(f"{start}:{len(raw) - end}:".encode(), digest_size=12)
    outer.update(raw[:start])
    outer.update(entity_hash.digest())
    outer.update(raw[end:])
    return outer.hexdigest(), entity_hash


def without_writers(doc: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in doc.items() if key not in runformat.WRITER_KEYS}


def without_writers_bytes(parsed: ParsedRun) -> bytes:
    """The stored bytes without the writers' pids, hosts and boot ids: the header is serialised again without
    them and the entity records are kept byte for byte (so the body is the file minus two keys)."""
    doc = parsed.doc
    if not runformat.WRITER_KEYS & doc.keys():
        return bytes(parsed.raw)
    if parsed.start < 0:  # not in the writer's layout
        return json.dumps(without_writers(doc), ensure_ascii=False).encode()
    head_length = len(runformat.head_bytes(doc))
    return runformat.head_bytes(without_writers(doc)) + parsed.raw[head_length:]


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

