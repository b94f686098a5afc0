"""Stores of runs, named by a URL: ``open_store(url)``.

A folder path (the default ``.``, or a ``file://`` URL) is the folder store; other schemes (``s3://bucket/prefix``)
are stores that register themselves with ``register_scheme``. The interface every store implements is
``stores.base.Store``.

>>> store = open_store("/srv/recordings")          # doctest: +SKIP
>>> sorted(store.run_ids())                        # doctest: +SKIP
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

from ..errors import ValidationError
from .base import EntityFile, RunTransaction, RunWriter, StagedEntity, Store, StoredDocument, StoredFile
from .folder import FolderStore

__all__ = ["EntityFile", "FolderStore", "RunTransaction", "RunWriter", "StagedEntity", "Store", "StoredDocument",
           "StoredFile", "open_store", "register_scheme", "store_for"]

StoreFactory = Callable[[str], Store]

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


def _open_shared_store(url: str) -> Store:
    # Imported on first use: the shared store's packages (psycopg, obstore) are the optional extra "shared".
    try:
        from .shared import open_shared_store
    except ImportError as exc:
        raise ValidationError(f"the store {url[:120]!r} needs the shared store's packages: pip install "
                              f"'pipeline-recorder[shared]' ({exc})") from exc
    return open_shared_store(url)


_schemes: dict[str, StoreFactory] = {"s3": _open_shared_store}
_schemes_lock = threading.Lock()


def register_scheme(scheme: str, factory: StoreFactory) -> None:
    """Let ``open_store`` open URLs of ``scheme`` (lowercase, e.g. ``"s3"``) with ``factory(url)``."""
    with _schemes_lock:
        _schemes[scheme.lower()] = factory


def open_store(url: str | os.PathLike[str] | None = None) -> Store:
    """The store a URL names: a folder path (default: ``$PIPELINE_RECORDER_BASE_PATH`` or ``.``) or a
    ``file://`` URL is the folder store; a registered scheme opens its store. ValidationError for other schemes."""
    if url is None or isinstance(url, os.PathLike):
        return FolderStore(url)
    if not isinstance(url, str) or not url or "\0" in url:
        raise ValidationError(f"a store is named by a folder path or a URL such as s3://bucket/prefix, got {url!r:.80}")
    match = _SCHEME.match(url)
    if match is None:
        return FolderStore(url)
    scheme = match[1].lower()
    if scheme == "file":
        return FolderStore(unquote(urlsplit(url).path) or "/")
    with _schemes_lock:
        factory = _schemes.get(scheme)
        known = sorted({"file", *_schemes})
    if factory is None:
        raise ValidationError(f"unknown store URL scheme {scheme!r} in {url[:120]!r}: a store is a folder path or "
                              f"a URL with one of the schemes {', '.join(known)}")
    return factory(url)


def store_for(base: Store | str | os.PathLike[str] | None) -> Store:
    """``base`` when it is a store already, else the store its URL or path names (the library's ``base_path``)."""
    return base if isinstance(base, Store) else open_store(base)
