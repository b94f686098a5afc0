"""The store implementations the contract tests run against: one entry per kind of store.

Each entry makes a fresh, empty store for one test and cleans up after it. A store is also named by its ``url``,
which ``pipeline_recorder.stores.open_store`` opens in another process (the cross-process tests spawn workers
with it), so an entry sets up whatever that needs (servers, environment) for the test's duration.

To run the whole contract suite against another store, add an entry here, e.g.::

    @contextlib.contextmanager
    def s3_store(tmp_path: Path) -> Iterator[Store]:
        with moto_and_postgres(tmp_path) as url:     # servers on loopback, stopped by pid
            store = open_store(url)
            yield store
            store.close()

    STORE_FACTORIES["s3"] = s3_store

The ``any_store`` fixture below runs a test once per entry; a test folder uses it by importing it into its
conftest (``from store_backends import any_store``), as tests/core/conftest.py does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from pipeline_recorder.stores import FolderStore, Store
from pipeline_recorder.stores.shared import SharedStore
from shared_backend import open_sessions, shared_store, waits_for_lock


@contextlib.contextmanager
def folder_store(tmp_path: Path) -> Iterator[Store]:
    store = FolderStore(tmp_path / "folder-store")
    try:
        yield store
    finally:
        store.close()


STORE_FACTORIES: dict[str, Callable[[Path], AbstractContextManager[Store]]] = {
    "folder": folder_store,
    "s3": shared_store,  # tests/shared_backend.py: real PostgreSQL and moto_server on loopback
}


def waits_for_run_lock(store: Store, pid: int) -> bool:
    """Whether process ``pid`` is blocked waiting for a run transaction of ``store`` (so that a test can release
    the holder only once the other process is certainly waiting). For the folder store: a blocked ``flock``
    waiter of that pid in /proc/locks. A store without such a probe answers True (the test then releases at once,
    and a missing exclusion is still caught most of the time)."""
    if isinstance(store, FolderStore):
        # A waiter's line: "1: -> FLOCK  ADVISORY  WRITE <pid> <device:inode> 0 EOF".
        with open("/proc/locks", encoding="ascii") as locks:
            return any(parts[1:3] == ["->", "FLOCK"] and parts[5] == str(pid)
                       for parts in (line.split() for line in locks))
    if isinstance(store, SharedStore):
        return waits_for_lock(store, pid)
    return True


def settled_after(store: Store, pid: int) -> bool:
    """Whether everything the dead process ``pid`` began in ``store`` has ended, so that what the store holds
    now is what it will hold. The folder store's moves are the process's own file operations: they ended with it.
    The shared store's end when the database has ended the process's sessions: a COMMIT the process sent just
    before it was killed may still be running in its server process, and lands after it."""
    if isinstance(store, SharedStore):
        return not open_sessions(store, pid)
    return True


@pytest.fixture(params=sorted(STORE_FACTORIES))
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, empty store of each kind in turn."""
    with STORE_FACTORIES[request.param](tmp_path) as store:
        yield store
