"""The run lock: one writer at a time per run folder, across threads (a mutex) and processes (``fcntl.flock``).

``flock`` locks belong to an open file description, so each RunLock opens the lock file once and serialises its
own threads with a mutex; other processes (and other RunLock objects) exclude each other through the kernel. A
process that dies holding the lock releases it with its file descriptors, so kill -9 never leaves a run locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_FILENAME = ".lock"


class RunLock:
    def __init__(self, folder: Path, filename: str = LOCK_FILENAME) -> None:
        self._path = folder / filename
        self._mutex = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    def _descriptor(self) -> int:
        # A forked child shares the parent's open file description, and with it the flock: open its own.
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            self._pid = os.getpid()
        return self._fd

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._mutex:
            fd = self._descriptor()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def close(self) -> None:
        with self._mutex:
            if self._fd is not None and self._pid == os.getpid():
                os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
