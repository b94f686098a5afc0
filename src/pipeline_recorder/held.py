"""What an owner holds by key under its lock (the recorder registry's recorders, a store's folder watches): how
many it holds, and taking everything out to close it.

Everything is taken out under the lock and closed outside it: a close may block (a watcher thread is joined, a
lock file closed on a slow disk) and must never stall the owner's other callers.
"""

from __future__ import annotations

import threading
from collections.abc import MutableMapping, Sized
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


def count(lock: threading.Lock, held: Sized) -> int:
    """How many objects ``held`` holds, read under its owner's ``lock``."""
    with lock:
        return len(held)


def take_all(lock: threading.Lock, held: MutableMapping[K, V]) -> list[V]:
    """Empty ``held`` under ``lock`` and hand back what it held, for the caller to close with the lock released.

    >>> held = {"a": 1, "b": 2}
    >>> take_all(threading.Lock(), held), held
    ([1, 2], {})
    """
    with lock:
        taken = list(held.values())
        held.clear()
    return taken
