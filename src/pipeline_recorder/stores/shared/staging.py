"""Entity bytes made ready before the run's transaction (``Store.stage_entity``): hashed, and either kept in memory
(up to one part, 8 MiB: put under the numbered name inside the transaction in one request) or, for a larger
stream, uploaded in parts to a hidden ``.staging-*`` object that the object store copies into place inside the
transaction -- so a 2 GB video never sits in this process's memory, and the run stays locked only for the copy.

S3 copies an object in one request only up to 5 GiB (``CopyObject``; larger needs a multipart copy, which the
object-store client does not offer), so an entity is at most ``MAX_ENTITY_BYTES``: a larger stream is refused
while it is read, with an InvalidContentError saying so, and nothing of it stays in the bucket.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import Iterator
from typing import BinaryIO

from ...errors import InvalidContentError, RecorderError
from ..handles import StagedEntity
from ..values import Content
from .objects import PART_SIZE, Bucket

STAGING_PREFIX = ".staging-"
# The largest entity: S3's limit of a single-request copy (the staged object is copied into place).
MAX_ENTITY_BYTES = 5 * 1024**3


class SharedStaged(StagedEntity):
    """Staged entity bytes: ``data`` in memory, or the object at ``key``."""

    def __init__(self, bucket: Bucket, size: int, sha256: str, data: bytes | None = None,
                 key: str | None = None) -> None:
        self._bucket = bucket
        self.size = size
        self.sha256 = sha256
        self.data = data
        self.key = key

    def discard(self) -> None:
        if self.key is not None:
            self._bucket.delete(self.key)
            self.key = None
        self.data = None


def _read(source: BinaryIO, size: int) -> bytes:
    chunk = source.read(size)
    if not isinstance(chunk, bytes):
        raise InvalidContentError("a file object given as content must be opened in binary mode ('rb')")
    return chunk


def stage(bucket: Bucket, run_prefix: str, content: Content | BinaryIO, head: bytes) -> SharedStaged:
    if isinstance(content, bytes | bytearray | memoryview):
        data = head + bytes(content) if head else bytes(content)
        return SharedStaged(bucket, len(data), hashlib.sha256(data).hexdigest(), data=data)
    first = head + _read(content, max(0, PART_SIZE + 1 - len(head)))
    if len(first) <= PART_SIZE:
        return SharedStaged(bucket, len(first), hashlib.sha256(first).hexdigest(), data=first)
    digest = hashlib.sha256()
    size = 0

    def chunks() -> Iterator[bytes]:
        nonlocal size
        chunk = first
        while chunk:
            if size + len(chunk) > MAX_ENTITY_BYTES:
                raise InvalidContentError(
                    f"the entity is larger than {MAX_ENTITY_BYTES} bytes, the most the shared store takes (S3 "
                    "copies an object into place in one request up to 5 GiB); nothing was stored")
            digest.update(chunk)
            size += len(chunk)
            yield chunk
            chunk = _read(content, PART_SIZE)

    key = f"{run_prefix}/{STAGING_PREFIX}{uuid.uuid4().hex}"
    try:
        bucket.put_stream(key, chunks())
    except BaseException:
        with contextlib.suppress(RecorderError):  # the store may be unreachable: the orphan stays hidden
            bucket.delete(key)
        raise
    return SharedStaged(bucket, size, digest.hexdigest(), key=key)
