"""What a reader made of the latest version of each of a bounded number of run documents, read again only when
the store says the document changed (``Store.read_document`` with the version last seen)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, Protocol, TypeVar

V = TypeVar("V")


class StoredDocument(Protocol):
    """What a store's ``read_document`` returns (``stores.base.StoredDocument``)."""

    @property
    def version(self) -> Hashable: ...

    @property
    def data(self) -> bytes: ...


class VersionCache(Generic[V]):
    """LRU and thread-safe: ``build`` turns a new version's bytes -- with what was made of the version before, so
    that a new version can be parsed from the old -- into the new value."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[Hashable, V]] = OrderedDict()

    def load(self, key: Hashable, read: Callable[[Hashable | None], StoredDocument | None],
             build: Callable[[bytes, V | None], V]) -> V:
        """The value for the document's current version. ``read(known)`` is the store's read (None: unchanged);
        its errors (RunNotFoundError, CorruptRunError) pass through."""
        with self._lock:
            cached = self._entries.get(key)
        stored = read(cached[0] if cached is not None else None)
        if stored is None:
            assert cached is not None
            with self._lock:
                if key in self._entries:
                    self._entries.move_to_end(key)
            return cached[1]
        value = build(stored.data, cached[1] if cached is not None else None)
        with self._lock:
            self._entries[key] = (stored.version, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return value
