"""The handles a store hands out (``stores.base.Store``): staged entity bytes, an entity opened for reading, and a
run's write handle with its transactions. Each store implements them; nothing here names files, locks or renames.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, BinaryIO, TypeVar

from ..document import MetadataDocument
from ..errors import EntityNotFoundError

T = TypeVar("T")


class StagedEntity(abc.ABC):
    """Entity bytes stored before the run's transaction, durable, waiting to be placed under their numbered name."""

    size: int
    sha256: str

    @abc.abstractmethod
    def discard(self) -> None:
        """Remove the staged bytes if they were not placed (idempotent)."""


class EntityFile(abc.ABC):
    """An entity opened for reading, already checked against its record (a regular file of the recorded size)."""

    size: int
    modified: float  # seconds since the epoch
    version: str  # changes when the stored bytes change (an ETag when the record has no sha256)
    file: BinaryIO  # readable and seekable; closing it releases the entity

    def close(self) -> None:
        self.file.close()


def check_recorded_size(run_id: str, filename: str, record: dict[str, Any], size: int) -> None:
    """Before an entity is served: EntityNotFoundError when its stored bytes are not as many as its record lists
    (a record without a size is not checked)."""
    recorded = record.get("size")
    if isinstance(recorded, int) and size != recorded:
        raise EntityNotFoundError(f"run {run_id!r}: {filename!r} holds {size} bytes, not the {recorded} its record "
                                  "lists; run `pipeline-recorder verify` on it")


class RunTransaction(abc.ABC):
    """One exclusive change of a run. ``document`` is the run's document as stored when the transaction began
    (None only for ``transaction(allow_missing=True)`` on a run without one); the caller changes it in place and
    calls ``replace_document`` to commit. If the block raises, nothing it placed stays unlisted."""

    document: MetadataDocument | None

    def next_sequence(self) -> int:
        """The sequence the next entity takes: one more than the last listed (1 for the first)."""
        assert self.document is not None
        entities = self.document.entities
        return int(entities[-1]["sequence"]) + 1 if entities else 1

    @abc.abstractmethod
    def place_entity(self, staged: StagedEntity, filename: str) -> None:
        """Store the staged bytes under ``filename`` (an orphan of a writer that died before listing it is
        replaced). Not yet visible to readers of the document until ``replace_document``."""

    @abc.abstractmethod
    def replace_document(self) -> None:
        """Store ``document`` as the run's document, atomically and durably: the commit point."""


class RunWriter(abc.ABC):
    """The write handle of one run (held by its recorder): transactions and an up-to-date view of the document."""

    run_id: str

    @abc.abstractmethod
    def transaction(self, *, allow_missing: bool = False) -> AbstractContextManager[RunTransaction]:
        """Exclusive across threads, processes and machines. RunNotFoundError (unless ``allow_missing``),
        CorruptRunError."""

    @abc.abstractmethod
    def read(self, look: Callable[[MetadataDocument], T]) -> T:
        """``look(document)`` on the document as stored now (read again only when it changed), while no
        transaction of this handle changes it; ``look`` must copy what it keeps. RunNotFoundError,
        CorruptRunError."""

    @abc.abstractmethod
    def cached_entity_count(self) -> int:
        """How many entity records this handle holds in memory."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release what the handle holds open (it reopens it when used again)."""
