"""The framework-free answer of a handler: status, headers and one kind of body, turned into a real response by
each adapter (FastAPI, Flask) in a few lines."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

CHUNK = 256 * 1024
JSON_TYPE = "application/json"


@dataclass
class FileBody:
    """``length`` bytes of an open file from ``start``, read in chunks so media never sits whole in memory."""

    file: BinaryIO
    start: int
    length: int

    def chunks(self) -> Iterator[bytes]:
        """The bytes, chunk by chunk; closes the file when done or abandoned."""
        try:
            self.file.seek(self.start)
            left = self.length
            while left > 0:
                chunk = self.file.read(min(CHUNK, left))
                if not chunk:
                    break  # the file shrank under us; the client sees a short body rather than a hang
                left -= len(chunk)
                yield chunk
        finally:
            self.file.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.file.close()


@dataclass
class EventStream:
    """A live SSE feed, offered as both an async and a blocking source of the same framed bytes; the adapter
    opens the one its server suits (asyncio for FastAPI, a thread per client for Flask)."""

    open_async: Callable[[], AsyncIterator[bytes]]
    open_sync: Callable[[], Iterator[bytes]]


@dataclass
class ByteStream:
    """A body produced piece by piece by a blocking iterator (zip exports)."""

    chunks: Iterator[bytes]


Body = bytes | FileBody | EventStream | ByteStream


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Body = b""

    @property
    def media_type(self) -> str | None:
        return self.headers.get("Content-Type")


def json_response(status: int, value: Any, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(value, ensure_ascii=False).encode()
    return Response(status, {"Content-Type": JSON_TYPE, **(headers or {})}, body)
