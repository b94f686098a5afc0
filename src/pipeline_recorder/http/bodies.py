"""Request bodies of the write routes: read as they arrive, never past a limit, and strict JSON.

``LimitedReader`` turns the body's chunks (request.Body) into the binary file object the recorder streams from, and
raises ``BodyTooLargeError`` the moment the body passes the server's entity limit (below the route's ceiling that
request.Body enforces), so that nothing is stored: the recorder removes its temp file when the read fails.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from ..errors import ValidationError
from .errors import BodyTooLargeError
from .headers import Headers
from .request import parse_json

METADATA_HEADER = "Pipeline-Entity-Metadata"
# Text and JSON entities are decoded in memory (to store them as the library stores str and dict/list): cap them.
MAX_TEXT_BYTES = 64 * 1024**2


def _too_large(limit: int) -> BodyTooLargeError:
    return BodyTooLargeError(f"the request body is larger than the limit of {limit} bytes; nothing was stored")


def read_limited(chunks: Iterator[bytes], limit: int) -> bytes:
    """The whole body, or BodyTooLargeError as soon as it passes ``limit`` bytes."""
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        parts.append(chunk)
    return b"".join(parts)


class LimitedReader:
    """A read-only binary file object over body chunks, at most ``limit`` bytes (BodyTooLargeError beyond)."""

    def __init__(self, chunks: Iterator[bytes], limit: int) -> None:
        self._chunks = chunks
        self._limit = limit
        self._buffer = b""
        self._size = 0
        self._spilled: IO[bytes] | None = None
        self.sha256: str | None = None

    def _next(self) -> bytes:
        for chunk in self._chunks:
            if chunk:
                self._size += len(chunk)
                if self._size > self._limit:
                    raise _too_large(self._limit)
                return chunk
        return b""

    def read(self, size: int = -1) -> bytes:
        if self._spilled is not None:
            return self._spilled.read(size)
        if size is None or size < 0:
            parts = [self._buffer]
            while chunk := self._next():
                parts.append(chunk)
            self._buffer = b""
            return b"".join(parts)
        while len(self._buffer) < size:
            chunk = self._next()
            if not chunk:
                break
            self._buffer += chunk
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out

    def hash_ahead(self, folder: Path | None = None) -> str:
        """Read the rest of the body into an unnamed temp file (in ``folder``) and return its sha256; later reads
        come from that file. For the rare retry that must compare its content before deciding to store it."""
        digest = hashlib.sha256()
        spill = tempfile.TemporaryFile(dir=folder)  # noqa: SIM115 -- kept open for the reads that follow
        while chunk := self.read(1024 * 1024):
            digest.update(chunk)
            spill.write(chunk)
        spill.seek(0)
        self._spilled = spill
        self.sha256 = digest.hexdigest()
        return self.sha256

    def close(self) -> None:
        if self._spilled is not None:
            self._spilled.close()


def strict_json(data: bytes) -> Any:
    """A JSON body, parsed as every body of the API is (request.parse_json: no duplicate keys, NaN or Infinity),
    and without lone surrogates ("\\ud800"), which cannot be stored as UTF-8. ValidationError."""
    value = parse_json(data)
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError("the body holds a lone surrogate (such as \"\\ud800\"), which is not text; nothing "
                              "was stored") from None
    return value


def media_type(headers: Headers) -> tuple[str, str | None]:
    """The media type of a request (lowercase, no parameters) and its charset, if one is given."""
    value = headers.get("Content-Type") or ""
    base, _, params = value.partition(";")
    charset = None
    for param in params.split(";"):
        name, _, arg = param.strip().partition("=")
        if name.lower() == "charset":
            charset = arg.strip().strip('"').lower()
    return base.strip().lower(), charset


def entity_content(chunks: Iterator[bytes], media: str, charset: str | None, max_bytes: int) -> Any:
    """An entity body as the local recorder would get it: str for text, dict/list for JSON (both read whole, at
    most MAX_TEXT_BYTES), else a stream of at most ``max_bytes``. ValidationError for bad text or JSON."""
    in_memory = min(max_bytes, MAX_TEXT_BYTES)
    if media == "text/plain":
        if charset not in (None, "utf-8", "utf8"):
            raise ValidationError(f"text must be sent as 'text/plain; charset=utf-8', not charset {charset!r}")
        data = read_limited(chunks, in_memory)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationError(f"the text is not valid UTF-8 (byte {exc.start}); nothing was stored") \
                from None
    if media == "application/json":
        value = strict_json(read_limited(chunks, in_memory))
        if not isinstance(value, dict | list):
            raise ValidationError("a JSON entity must be an object or an array; nothing was stored")
        return value
    return LimitedReader(chunks, max_bytes)


def json_object(data: bytes, fields: str, accepted: set[str]) -> dict[str, Any]:
    """A JSON body that must be an object of the ``accepted`` fields (ValidationError otherwise)."""
    body = strict_json(data)
    if not isinstance(body, dict):
        raise ValidationError(f"the body must be a JSON object with {fields}")
    if unknown := sorted(set(body) - accepted):
        raise ValidationError(f"unknown field(s) {unknown}; accepted are {sorted(accepted)}")
    return body


def metadata_header(header: str | None) -> dict[str, Any]:
    """The entity metadata sent in the Pipeline-Entity-Metadata header (a JSON object), or {}."""
    if header is None or not header.strip():
        return {}
    try:
        value = strict_json(header.encode("latin-1"))
    except (ValidationError, UnicodeEncodeError):
        raise ValidationError(f"the {METADATA_HEADER} header must be a JSON object (non-ASCII characters "
                              "escaped as \\uXXXX)") from None
    if not isinstance(value, dict):
        raise ValidationError(f"the {METADATA_HEADER} header must be a JSON object")
    return value
