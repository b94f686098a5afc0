"""Turning what a caller saves into entity bytes staged in the store: the format of each kind of content
(``str`` -> txt, ``dict``/``list`` -> json, ``bytes`` -> sniffed, paths and binary files streamed)."""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from typing import Any, BinaryIO

from .errors import InvalidContentError
from .formats import JSON, SNIFF_BYTES, TEXT, Format, detect_binary
from .redaction import redact
from .stores.base import StagedEntity, Store

Content = str | bytes | bytearray | memoryview | dict[str, Any] | list[Any] | os.PathLike[str] | BinaryIO


@dataclass
class Prepared:
    """Entity content already in the store, durable, waiting for its numbered name."""

    staged: StagedEntity
    format: Format


def encode(content: object, fmt: str | None) -> tuple[bytes, Format] | None:
    """The bytes and format of in-memory content; None for content that is streamed (a path, a file object).
    InvalidContentError for content of any other type."""
    if isinstance(content, str):
        try:
            return content.encode("utf-8"), TEXT
        except UnicodeEncodeError as exc:
            raise InvalidContentError(f"text content is not encodable as UTF-8: {exc.reason}") from exc
    if isinstance(content, dict | list):
        try:
            return json.dumps(redact(content), ensure_ascii=False, indent=2, allow_nan=False).encode("utf-8"), JSON
        except (TypeError, ValueError) as exc:
            raise InvalidContentError(f"dict/list content must be JSON-serialisable: {exc}") from exc
    if isinstance(content, bytes | bytearray | memoryview):
        data = bytes(content)
        return data, detect_binary(data[:SNIFF_BYTES], fmt)
    if isinstance(content, os.PathLike | io.IOBase) or callable(getattr(content, "read", None)):
        return None
    raise InvalidContentError(
        f"cannot store content of type {type(content).__name__}: accepted are str (txt), dict or list "
        "(json), bytes (format from its content), a pathlib.Path or a binary file object"
    )


def prepare(store: Store, run_id: str, content: object, fmt: str | None) -> Prepared:
    """Stage ``content`` in the run (InvalidContentError, RunNotFoundError, StorageError)."""
    encoded = encode(content, fmt)
    if encoded is not None:
        data, form = encoded
        return Prepared(store.stage_entity(run_id, data), form)
    if isinstance(content, os.PathLike):
        try:
            with open(content, "rb") as source:
                return _prepare_stream(store, run_id, source, fmt)
        except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            raise InvalidContentError(f"cannot read content file {os.fspath(content)!r}: {exc.strerror}") from exc
    return _prepare_stream(store, run_id, content, fmt)  # type: ignore[arg-type]


def _prepare_stream(store: Store, run_id: str, source: BinaryIO, fmt: str | None) -> Prepared:
    head = source.read(SNIFF_BYTES)
    if not isinstance(head, bytes):
        raise InvalidContentError("a file object given as content must be opened in binary mode ('rb')")
    return Prepared(store.stage_entity(run_id, source, head), detect_binary(head, fmt))
