"""The bucket side of the shared store: objects put, read (whole or a byte range), listed and deleted over the S3
protocol, through obstore (the Rust ``object_store`` crate: streamed multipart uploads, Range reads, conditional
puts, connection reuse, and it releases the GIL while it waits).

Every key is relative to the store's prefix. The client's own errors never leave this module: a missing object is
``FileNotFoundError`` (obstore's own ``NotFoundError`` already is one), a failed precondition
``PreconditionFailed``, and anything else (the endpoint down, refused credentials) a ``StorageError`` that says what
could not be done and why.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, BinaryIO

import obstore
from obstore.exceptions import BaseError, NotFoundError, PreconditionError
from obstore.store import S3Store

from ...errors import StorageError

if TYPE_CHECKING:
    from obstore import PutMode
    from obstore.store import ClientConfig, RetryConfig

# Larger content goes up in parts of this size (S3's minimum part is 5 MiB), at most this many at once.
PART_SIZE = 8 * 1024 * 1024
PART_CONCURRENCY = 4
READ_CHUNK = 1024 * 1024


class PreconditionFailed(Exception):
    """A conditional put found another version of the object than the one it expected."""


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str
    modified: float = 0.0  # seconds since the epoch


@contextlib.contextmanager
def object_errors(what: str) -> Iterator[None]:
    """Turn the object store's refusal into a StorageError saying what failed (missing objects pass through)."""
    try:
        yield
    except (FileNotFoundError, PreconditionFailed):
        raise
    except PreconditionError as exc:
        raise PreconditionFailed(str(exc)[:300]) from exc
    except (BaseError, OSError, ConnectionError, TimeoutError, RuntimeError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StorageError(0, f"could not {what}: the object store failed ({first_line[:300]})") from exc


def _client_options(endpoint: str | None) -> ClientConfig:
    # Short timeouts and few retries: a store that is down must become a clear StorageError within seconds, not
    # the client's default of ten retries over three minutes.
    options: ClientConfig = {"connect_timeout": timedelta(seconds=3), "timeout": timedelta(seconds=120),
                               "pool_idle_timeout": timedelta(seconds=30)}
    if endpoint and endpoint.startswith("http://"):
        options["allow_http"] = True  # a local S3-protocol server (MinIO, moto) without TLS
    return options


class Bucket:
    """One bucket and key prefix. Safe to share between threads."""

    def __init__(self, bucket: str, prefix: str) -> None:
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        retry: RetryConfig = {"max_retries": 2, "retry_timeout": timedelta(seconds=10),
                                 "backoff": {"init_backoff": timedelta(milliseconds=50),
                                             "max_backoff": timedelta(seconds=1)}}
        with object_errors(f"open bucket {bucket!r}"):
            self._store = S3Store(bucket, prefix=prefix or None, client_options=_client_options(endpoint),
                                  retry_config=retry)
        self.bucket = bucket

    def put(self, key: str, data: bytes | bytearray | memoryview | Iterable[bytes | bytearray],
            *, if_match: str | None = None) -> str:
        """Put a small object in one request; its ETag. ``if_match``: only if the object now has that ETag."""
        mode: PutMode = {"e_tag": if_match} if if_match is not None else "overwrite"
        with object_errors(f"write {key}"):
            return _etag(obstore.put(self._store, key, data, mode=mode, use_multipart=False))

    def put_stream(self, key: str, chunks: Iterable[bytes]) -> str:
        """Put an object from a stream of chunks, in parts (multipart upload) so it never sits in memory."""
        with object_errors(f"write {key}"):
            return _etag(obstore.put(self._store, key, iter(chunks), use_multipart=True, chunk_size=PART_SIZE,
                                     max_concurrency=PART_CONCURRENCY))

    def get(self, key: str) -> bytes:
        """The whole object. FileNotFoundError if it is missing."""
        with object_errors(f"read {key}"):
            return bytes(obstore.get(self._store, key).bytes())

    def get_with_etag(self, key: str) -> tuple[str, bytes]:
        """(ETag, bytes) of the whole object, from one request. FileNotFoundError if it is missing."""
        with object_errors(f"read {key}"):
            result = obstore.get(self._store, key)
            return str(result.meta["e_tag"] or ""), bytes(result.bytes())

    def head(self, key: str) -> ObjectInfo:
        with object_errors(f"read {key}"):
            meta = obstore.head(self._store, key)
        return ObjectInfo(key, int(meta["size"]), str(meta["e_tag"] or ""), meta["last_modified"].timestamp())

    def read_range(self, key: str, start: int, end: int) -> Iterator[bytes]:
        """Bytes ``start`` to ``end`` (exclusive) of an object, fetched with one Range request and yielded in
        chunks as they arrive (the object is never downloaded whole)."""
        if start >= end:
            return
        with object_errors(f"read {key}"):
            result = obstore.get(self._store, key, options={"range": (start, end)})
            for chunk in result.stream(min_chunk_size=READ_CHUNK):
                yield bytes(chunk)

    def open(self, key: str, size: int) -> BinaryIO:
        """A seekable, buffered binary file of an object of ``size`` bytes: each refill of its buffer is one Range
        request, so seeking and reading part of a large object never downloads the rest."""
        return io.BufferedReader(_RangeReader(self, key, size), buffer_size=READ_CHUNK)

    def copy(self, source: str, target: str) -> None:
        """A server-side copy (the bytes do not pass through this process)."""
        with object_errors(f"copy {source} to {target}"):
            obstore.copy(self._store, source, target)

    def delete(self, key: str) -> None:
        """Delete an object; a missing one is not an error."""
        with contextlib.suppress(FileNotFoundError), object_errors(f"delete {key}"):
            obstore.delete(self._store, key)

    def objects(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix/`` (page by page, not all at once)."""
        with object_errors(f"list {prefix}"):
            for page in obstore.list(self._store, prefix.rstrip("/") + "/", chunk_size=1000):
                for meta in page:
                    yield ObjectInfo(str(meta["path"]), int(meta["size"]), str(meta["e_tag"] or ""))

    def objects_here(self, prefix: str) -> list[ObjectInfo]:
        """The objects directly under ``prefix/`` (not those in its "folders"), with their last-modified times."""
        with object_errors(f"list {prefix}"):
            listed = obstore.list_with_delimiter(self._store, prefix.rstrip("/") + "/")
        return [ObjectInfo(str(meta["path"]), int(meta["size"]), str(meta["e_tag"] or ""),
                           meta["last_modified"].timestamp()) for meta in listed["objects"]]

    def list_folders(self, prefix: str) -> list[str]:
        """The names of the "folders" directly under ``prefix/`` (common prefixes)."""
        with object_errors(f"list {prefix}"):
            listed = obstore.list_with_delimiter(self._store, prefix.rstrip("/") + "/")
        return [str(name).rstrip("/").rsplit("/", 1)[-1] for name in listed["common_prefixes"]]


class _RangeReader(io.RawIOBase):
    def __init__(self, bucket: Bucket, key: str, size: int) -> None:
        self._bucket, self._key, self._size, self._position = bucket, key, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: Any) -> int:
        end = min(self._size, self._position + len(buffer))
        if end <= self._position:
            return 0
        with object_errors(f"read {self._key}"):
            data = obstore.get_range(self._bucket._store, self._key, start=self._position, end=end)
        count = len(data)
        memoryview(buffer).cast("B")[:count] = memoryview(data)
        self._position += count
        return count


def _etag(result: Any) -> str:
    return str(result.get("e_tag") or "")


__all__ = ["Bucket", "NotFoundError", "ObjectInfo", "PreconditionFailed", "object_errors"]
