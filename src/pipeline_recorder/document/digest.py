"""What a reader is served of one parsed version: the digest of its bytes (the ``/status`` ETag) and the
document without who writes the run (its pids, host names and boot ids are for liveness only)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .. import runformat
from . import layout
from .reader import ParsedRun


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
        entity_hash.update(raw[start + before.fragments_length:end])
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
    return layout.head_bytes(without_writers(doc)) + parsed.raw[parsed.head_length:]
