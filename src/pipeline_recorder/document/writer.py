"""The writer's form of a metadata.json: a header dict and the entity list with its records already serialised.

The document is written whole on every change (readers always see complete JSON), but serialising it does not
grow with run length: each entity record is serialised once, when it is added, and kept as bytes; a write joins
the small header with those cached fragments (``layout.document_chunks``).
"""

from __future__ import annotations

from typing import Any

from . import layout


class MetadataDocument:
    """The in-memory form of one metadata.json: a header dict and the entity list with cached JSON fragments."""

    def __init__(self, header: dict[str, Any], entities: list[dict[str, Any]]) -> None:
        self.header = header
        self.entities = entities
        self._fragments = bytearray()
        for entity in entities:
            layout.join_fragment(self._fragments, layout.dumps_compact(entity))

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> MetadataDocument:
        header = {key: value for key, value in doc.items() if key != "entities"}
        return cls(header, list(doc.get("entities", [])))

    @property
    def fragments(self) -> bytearray:
        """The entity records as written: their JSON fragments joined (read-only for callers)."""
        return self._fragments

    def add_entity(self, entity: dict[str, Any]) -> None:
        self.entities.append(entity)
        layout.join_fragment(self._fragments, layout.dumps_compact(entity))

    def head_bytes(self) -> bytes:
        """The serialised header: the start of metadata.json up to the entity list.

        It holds ``revision`` and ``updated_at``, which every write changes, so comparing it with the start of the
        file on disk tells whether another writer replaced the file since (see version.py).
        """
        return layout.head_bytes(self.header)

    def laid_out_head(self) -> bytes:
        """The header as the file holds it: padded while the run is running (``layout.laid_out_length``)."""
        head = self.head_bytes()
        return layout.pad_head(head, layout.laid_out_length(len(head), self.header.get("status") == "running"))

    def chunks(self) -> list[bytes | bytearray]:
        """metadata.json as a few buffers to write in order (no copy of the entity list: it can be megabytes)."""
        return layout.document_chunks(self.laid_out_head(), self._fragments)

    def to_bytes(self) -> bytes:
        """metadata.json as one bytes object."""
        return b"".join(self.chunks())

    def to_dict(self) -> dict[str, Any]:
        """A deep-enough copy: callers may change it without touching the document."""
        doc = {key: copy_json(value) for key, value in self.header.items()}
        doc["entities"] = [copy_json(entity) for entity in self.entities]
        return doc


def copy_json(value: Any) -> Any:
    """A deep copy of parsed JSON (dicts, lists, scalars), cheaper than copy.deepcopy."""
    if isinstance(value, dict):
        return {key: copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copy_json(item) for item in value]
    return value
