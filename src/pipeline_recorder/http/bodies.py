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
from .request import parse_json


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
