"""The byte layout of metadata.json: the one place that knows where things lie in the file's bytes.

The writer lays a document out as its header -- one top-level key per line, in the header's order -- ending with
``ENTITIES_MARKER`` (a running run's header is padded with spaces just before it to a whole number of
``HEAD_BLOCK``s, ``laid_out_length``, so that a header a little longer keeps its length: the folder store rewrites a
document in place that way, see ``stores/folder_document.py``), then either ``EMPTY_ENTITIES`` or ``ENTITIES_OPEN``
+ the entity records (each serialised on its own, compact) joined by ``FRAGMENT_SEPARATOR`` + ``ENTITIES_CLOSE``.
The file is always plain JSON: any reader may parse it whole; the layout only lets this package's reader and writer
skip work.

A newline cannot occur inside a JSON string, so the first ``ENTITIES_MARKER`` in a file is the writer's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# One encoder, built once: json.dumps with indent= falls back to the pure-Python encoder, ~10x slower.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "))

ENTITIES_MARKER = b'\n  "entities": '
EMPTY_ENTITIES = b"[]\n}\n"
ENTITIES_OPEN = b"[\n    "
FRAGMENT_SEPARATOR = b",\n    "
ENTITIES_CLOSE = b"\n  ]\n}\n"


def dumps_compact(value: Any) -> bytes:
    """One value as the writer serialises an entity record (and the shared store a header or a record)."""
    return _ENCODER.encode(value).encode()


def head_bytes(doc: dict[str, Any]) -> bytes:
    """The start of metadata.json up to the entity list, for a header or a whole parsed document (its
    ``entities`` are skipped): what a file written from ``doc`` begins with."""
    # One top-level key per line (readable, diff-friendly); the entity list goes in as the last key.
    lines = [f"  {_ENCODER.encode(key)}: {_ENCODER.encode(value)}" for key, value in doc.items() if key != "entities"]
    return ("{\n" + ",\n".join([*lines, '  "entities": '])).encode()


HEAD_BLOCK = 1024


def laid_out_length(head_length: int, running: bool) -> int:
    """How long a header of ``head_length`` bytes is laid out: a running run's is padded to the next whole
    ``HEAD_BLOCK`` (so the layout is the same for the same document, whichever store or tool writes it), an ended
    run's is not padded."""
    return (head_length // HEAD_BLOCK + 1) * HEAD_BLOCK if running else head_length


def pad_head(head: bytes, length: int) -> bytes:
    """``head`` (as ``head_bytes`` lays it out) made ``length`` bytes long with spaces before the entity list's key:
    JSON whitespace, so the document means the same; ``unpad_head`` takes them out again."""
    if length < len(head):
        raise ValueError(f"a header of {len(head)} bytes does not fit in {length}")
    cut = len(head) - len(ENTITIES_MARKER)
    return head[:cut] + b" " * (length - len(head)) + head[cut:]


def unpad_head(region: bytes) -> bytes:
    """A stored header (up to and with ``ENTITIES_MARKER``) without the spaces ``pad_head`` put before the marker:
    what ``head_bytes`` gives for the header it holds, when the writer laid it out. (The line before the marker
    always ends with a comma, so no space of a value is taken.)"""
    cut = len(region) - len(ENTITIES_MARKER)
    body = region[:cut]
    stripped = body.rstrip(b" ")
    return region if len(stripped) == len(body) else stripped + region[cut:]


def head_of(data: bytes) -> bytes | None:
    """The header of a stored file, up to and with ``ENTITIES_MARKER`` (found, not parsed); None without one."""
    marker = data.find(ENTITIES_MARKER)
    return data[:marker + len(ENTITIES_MARKER)] if marker >= 0 else None


def entity_portion(data: bytes, head_length: int) -> tuple[int, int] | None:
    """Where the joined entity fragments lie in ``data`` (start, end), given that its header, laid out as the
    writer lays it out, is ``data[:head_length]``; None when what follows is not the writer's layout."""
    if data.endswith(EMPTY_ENTITIES) and len(data) == head_length + len(EMPTY_ENTITIES):
        return head_length + 1, head_length + 1
    start, end = head_length + len(ENTITIES_OPEN), len(data) - len(ENTITIES_CLOSE)
    if start < end and data.startswith(ENTITIES_OPEN, head_length) and data.endswith(ENTITIES_CLOSE):
        return start, end
    return None


def document_chunks(head: bytes, fragments: bytes | bytearray) -> list[bytes | bytearray]:
    """metadata.json as a few buffers to write in order, from its header and its joined entity fragments (no copy
    of the fragments: they can be megabytes)."""
    if not fragments:
        return [head, EMPTY_ENTITIES]
    return [head, ENTITIES_OPEN, fragments, ENTITIES_CLOSE]


def changed_since(fragments: bytes | bytearray, known_length: int) -> tuple[int, list[bytes | bytearray | memoryview]]:
    """What differs, after the header, between a document holding ``fragments`` and an earlier version of it that
    held their first ``known_length`` bytes (records were only appended since): where the differing bytes begin,
    counted from the end of the header, and those bytes, to the end of the document."""
    if known_length:
        return len(ENTITIES_OPEN) + known_length, [memoryview(fragments)[known_length:], ENTITIES_CLOSE]
    return 0, list(document_chunks(b"", fragments)[1:])


def header_document(head: bytes) -> bytes:
    """A header alone made a whole JSON document (with an empty entity list), for parsing it on its own."""
    return head + EMPTY_ENTITIES


def fragments_document(data: bytes, start: int, end: int) -> str:
    """The entity fragments ``data[start:end]`` as one JSON array, decoded as ``json.loads`` decodes bytes."""
    return "[" + data[start:end].decode("utf-8", "surrogatepass") + "]"


@dataclass(frozen=True)
class Portion:
    """Where a stored file's parts lie: ``data[:head_end]`` the header, ``data[start:end]`` the joined entity
    fragments (``start`` is -1 when the file is not in the writer's layout)."""

    head_end: int
    start: int
    end: int


def find_portion(data: bytes) -> Portion | None:
    """The parts of ``data`` found from the marker, without parsing: None when it is not in the writer's layout."""
    marker = data.find(ENTITIES_MARKER)
    if marker < 0:
        return None
    head_end = marker + len(ENTITIES_MARKER)
    portion = entity_portion(data, head_end)
    return Portion(head_end, *portion) if portion is not None else None


def appended_at(data: bytes, start: int, end: int, known_length: int) -> int | None:
    """Where the records appended after ``known_length`` bytes of known fragments begin (``end`` when none were),
    or None when what follows the known fragments is not a separator."""
    at = start + known_length
    if not known_length or at == end:
        return at
    if not data.startswith(FRAGMENT_SEPARATOR, at):
        return None
    return at + len(FRAGMENT_SEPARATOR)


def join_fragment(fragments: bytearray, record: bytes) -> None:
    """Append one serialised record to joined fragments."""
    if fragments:
        fragments += FRAGMENT_SEPARATOR
    fragments += record
