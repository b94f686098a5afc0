"""Entity bytes made ready before the run's transaction (``Store.stage_entity``): hashed, and either kept in memory
(up to one part, 8 MiB: put under the numbered name inside the transaction in one request) or, for a larger
stream, uploaded in parts to a hidden ``.staging-*`` object that the object store copies into place inside the
transaction -- so a 2 GB video never sits in this process's memory, and the run stays locked only for the copy.

S3 copies an object in one request only up to 5 GiB (``CopyObject``; larger needs a multipart copy, which the
object-store client does not offer), so an entity is at most ``MAX_ENTITY_BYTES``: a larger stream is refused
while it is read, with an InvalidContentError saying so, and nothing of it stays in the bucket.

A writer killed after its upload and before its transaction copied the object and deleted it leaves the object
behind (a writer killed during the upload leaves only the parts of an unfinished multipart upload, which the
bucket's lifecycle rule for incomplete uploads removes: the object-store client cannot list them).
``abandoned_staging`` finds those objects for ``verify`` and ``gc``: a staged object is used within the one save
that made it, so one older than ``STAGING_ABANDONED_AFTER_S`` is abandoned. The age is generous because S3 dates
a multipart object from the start of its upload, which for a 5 GiB stream over a slow link can take hours.
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
from .objects import PART_SIZE, Bucket, ObjectInfo

STAGING_PREFIX = ".staging-"
# The largest entity: S3's limit of a single-request copy (the staged object is copied into place).
MAX_ENTITY_BYTES = 5 * 1024**3
# A staged object older than this (its last-modified time against the database's clock) is no live writer's.
STAGING_ABANDONED_AFTER_S = 24 * 3600.0


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


def abandoned_staging(bucket: Bucket, runs_prefix: str, now: float) -> list[ObjectInfo]:
    """The staged objects in every run folder of the bucket (with a row or not) last modified more than
    ``STAGING_ABANDONED_AFTER_S`` before ``now`` (seconds since the epoch); keys relative to the store's prefix."""
    found: list[ObjectInfo] = []
    for run_id in sorted(bucket.list_folders(runs_prefix)):
        found.extend(info for info in bucket.objects_here(f"{runs_prefix}/{run_id}")
                     if info.key.rsplit("/", 1)[-1].startswith(STAGING_PREFIX)
                     and now - info.modified > STAGING_ABANDONED_AFTER_S)
    return sorted(found, key=lambda info: info.key)
