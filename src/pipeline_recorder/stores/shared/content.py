"""Entity content made ready for the bucket before the run transaction: encoded, hashed and typed.

The accepted content and its encoding are the folder store's (str -> UTF-8 ``txt``; dict/list -> indented JSON;
bytes -> the format its magic bytes say). Content up to PART_SIZE is kept in memory and put under its numbered name
inside the transaction (one request); a larger stream (a path or a binary file object) is uploaded in parts to a
hidden staging key (``.staging-*``, never an entity) before the transaction and copied to its name inside it by
the object store, so a 2 GB video never sits in this process's memory.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from ...errors import InvalidContentError
from ...formats import JSON, SNIFF_BYTES, TEXT, Format, detect_binary
from .objects import PART_SIZE, Bucket

STAGING_PREFIX = ".staging-"


@dataclass
class Prepared:
    """Content ready to commit: ``data`` in memory, or already in the bucket at ``staged_key``."""

    size: int
    sha256: str
    format: Format
    data: bytes | None = None
    staged_key: str | None = None


def prepare(content: object, fmt: str | None, bucket: Bucket, run_prefix: str) -> Prepared:
    """Encode ``content`` (see the module docstring); InvalidContentError for content that cannot be stored."""
    if isinstance(content, str):
        try:
            return _in_memory(content.encode("utf-8"), TEXT)
        except UnicodeEncodeError as exc:
            raise InvalidContentError(f"text content is not encodable as UTF-8: {exc.reason}") from exc
    if isinstance(content, dict | list):
        try:
            encoded = json.dumps(content, ensure_ascii=False, indent=2, allow_nan=False).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise InvalidContentError(f"dict/list content must be JSON-serialisable: {exc}") from exc
        return _in_memory(encoded, JSON)
    if isinstance(content, bytes | bytearray | memoryview):
        data = bytes(content)
        return _in_memory(data, detect_binary(data[:SNIFF_BYTES], fmt))
    if isinstance(content, os.PathLike):
        try:
            with open(content, "rb") as source:
                return _from_stream(source, fmt, bucket, run_prefix)
        except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            raise InvalidContentError(f"cannot read content file {os.fspath(content)!r}: {exc.strerror}") from exc
    if isinstance(content, io.IOBase) or callable(getattr(content, "read", None)):
        return _from_stream(content, fmt, bucket, run_prefix)  # type: ignore[arg-type]
    raise InvalidContentError(
        f"cannot store content of type {type(content).__name__}: accepted are str (txt), dict or list (json), "
        "bytes (format from its content), a pathlib.Path or a binary file object"
    )


def _in_memory(data: bytes, form: Format) -> Prepared:
    return Prepared(len(data), hashlib.sha256(data).hexdigest(), form, data=data)


def _read(source: BinaryIO, size: int) -> bytes:
    chunk = source.read(size)
    if not isinstance(chunk, bytes):
        raise InvalidContentError("a file object given as content must be opened in binary mode ('rb')")
    return chunk


def _from_stream(source: BinaryIO, fmt: str | None, bucket: Bucket, run_prefix: str) -> Prepared:
    head = _read(source, PART_SIZE + 1)
    form = detect_binary(head[:SNIFF_BYTES], fmt)
    if len(head) <= PART_SIZE:
        return _in_memory(head, form)
    digest = hashlib.sha256()
    size = 0

    def chunks() -> Iterator[bytes]:
        nonlocal size
        chunk = head
        while chunk:
            digest.update(chunk)
            size += len(chunk)
            yield chunk
            chunk = _read(source, PART_SIZE)

    key = f"{run_prefix}/{STAGING_PREFIX}{uuid.uuid4().hex}"
    try:
        bucket.put_stream(key, chunks())
    except BaseException:
        bucket.delete(key)
        raise
    return Prepared(size, digest.hexdigest(), form, staged_key=key)
