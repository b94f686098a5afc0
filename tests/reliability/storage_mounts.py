"""Small file systems for the storage-fault tests: a size-limited tmpfs that can fill up and be remounted
read-only. Needs root (CI runs as root); without the right to mount, the tests fail saying so."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

CHUNK = 64 * 1024


def _mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30)


@contextlib.contextmanager
def small_tmpfs(where: Path, size: str = "2m") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``where`` for the duration; fails the test with the reason if it cannot."""
    where.mkdir(parents=True, exist_ok=True)
    done = _mount("-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(where))
    if done.returncode != 0:
        pytest.fail(f"these tests need to mount a small tmpfs (as root, like CI) and could not: uid {os.getuid()}, "
                    f"`mount -t tmpfs` said: {done.stderr.strip() or done.stdout.strip()}")
    try:
        yield where
    finally:
        if subprocess.run(["umount", str(where)], capture_output=True, timeout=30).returncode != 0:
            subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=30)


@contextlib.contextmanager
def read_only_view(source: Path, where: Path) -> Iterator[Path]:
    """``source`` seen read-only at ``where`` (a bind mount remounted ro). Remounting the tmpfs itself read-only
    is refused while any process holds a file of it open for writing (a run's lock, the index), as a server does."""
    where.mkdir(parents=True, exist_ok=True)
    done = _mount("--bind", str(source), str(where))
    if done.returncode != 0:
        pytest.fail(f"these tests need a read-only bind mount (as root, like CI) and could not: {done.stderr}")
    try:
        done = _mount("-o", "remount,bind,ro", str(where))
        assert done.returncode == 0, f"could not remount {where} read-only: {done.stderr}"
        yield where
    finally:
        if subprocess.run(["umount", str(where)], capture_output=True, timeout=30).returncode != 0:
            subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=30)


def fill(path: Path) -> int:
    """Write ``path`` until the file system is full; returns the bytes written."""
    written = 0
    block = b"\0" * CHUNK
    with open(path, "wb", buffering=0) as f:
        try:
            while True:
                written += f.write(block)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    # Small writes still find room in partly used pages; take those too.
    with open(path, "ab", buffering=0) as f, contextlib.suppress(OSError):
        while True:
            written += f.write(b"\0" * 512)
    return written
