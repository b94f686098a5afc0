"""Durable, atomic file writes: temp file in the same folder, fsync, rename, fsync the folder.

A reader sees either the old file or the new one, never a torn one, and after the call returns the new content
survives a crash. Temp files start with '.' so they are never taken for entities. ``rename_noreplace`` moves a
folder into place only where nothing is, and ``exchange`` swaps two names at once (the kernel's ``renameat2`` with
``RENAME_NOREPLACE`` / ``RENAME_EXCHANGE``, reached through ctypes: the standard library has no binding for it).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import hashlib
import os
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from .errors import StorageError

TEMP_PREFIX = ".tmp-"
CHUNK = 1024 * 1024


def temp_path(folder: Path) -> Path:
    return folder / f"{TEMP_PREFIX}{uuid.uuid4().hex}"


@contextlib.contextmanager
def storage_errors(what: str) -> Iterator[None]:
    """Turn the OS's refusal (disk full, read-only, permissions) into a StorageError that says what failed."""
    try:
        yield
    except StorageError:
        raise
    except OSError as exc:
        reason = {errno.ENOSPC: "the disk is full", errno.EROFS: "the store is read-only",
                  errno.EDQUOT: "the disk quota is exceeded", errno.EACCES: "permission denied"}.get(
            exc.errno or 0, exc.strerror or str(exc))
        raise StorageError(exc.errno or 0, f"could not {what}: {reason}") from exc


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


Buffers = bytes | bytearray | memoryview | Sequence[bytes | bytearray | memoryview]


def _write_all(fd: int, data: Buffers) -> None:
    """Write every byte of ``data`` (one buffer or several, written in order with one writev)."""
    buffers = [data] if isinstance(data, bytes | bytearray | memoryview) else list(data)
    total = sum(len(buffer) for buffer in buffers)
    written = os.writev(fd, buffers) if buffers else 0
    if written < total:  # a short write (rare on regular files): write the rest plainly
        rest = memoryview(b"".join(buffers))[written:]
        while rest:
            rest = rest[os.write(fd, rest) :]


def write_temp(folder: Path, data: Buffers) -> Path:
    """Write ``data`` to a new fsynced temp file in ``folder``; the caller renames or removes it."""
    path = temp_path(folder)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    try:
        _write_all(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        _unlink_quietly(path)
        raise
    os.close(fd)
    return path


def stream_temp(folder: Path, source: BinaryIO, head: bytes = b"") -> tuple[Path, int, str]:
    """Copy ``head`` then the rest of ``source`` into an fsynced temp file; returns (path, size, sha256)."""
    path = temp_path(folder)
    digest = hashlib.sha256()
    size = 0
    try:
        with open(path, "xb") as out:
            chunk = head
            while chunk:
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                chunk = source.read(CHUNK)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        _unlink_quietly(path)
        raise
    return path, size, digest.hexdigest()


def replace_atomically(path: Path, data: Buffers, *, sync_dir: bool = True) -> None:
    """Atomically replace ``path`` with ``data`` (bytes, or buffers written in order), durably.

    Raises the OSError of the step that failed; the rename is the commit point, so if a later step (the folder
    fsync) fails, ``path`` already holds the new content.
    """
    tmp = write_temp(path.parent, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    if sync_dir:
        fsync_dir(path.parent)


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


_AT_FDCWD, _RENAME_NOREPLACE, _RENAME_EXCHANGE = -100, 1, 2
_UNSUPPORTED = (errno.ENOSYS, errno.EINVAL)  # no renameat2, or a file system without the flag


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _renameat2(source: Path | str, target: Path | str, flags: int) -> int:
    """0 when done, else the errno (ENOSYS when the C library has no renameat2)."""
    renameat2 = getattr(_libc(), "renameat2", None)
    if renameat2 is None:
        return errno.ENOSYS
    if renameat2(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target), flags) == 0:
        return 0
    return ctypes.get_errno()


def exchange(first: Path | str, second: Path | str) -> bool:
    """Swap the two names at once (both must exist): a reader of either name sees the one file or the other, never
    neither. False where the kernel or the file system cannot (the caller then does what it did without); other
    failures raise OSError."""
    err = _renameat2(first, second, _RENAME_EXCHANGE)
    if err in _UNSUPPORTED:
        return False
    if err:
        raise OSError(err, os.strerror(err), str(second))
    return True


def rename_noreplace(source: Path, target: Path) -> None:
    """Rename ``source`` to ``target``, failing with FileExistsError if ``target`` exists (even as an empty
    folder, which a plain rename would silently replace)."""
    err = _renameat2(source, target, _RENAME_NOREPLACE)
    if not err:
        return
    if err not in _UNSUPPORTED:
        raise OSError(err, os.strerror(err), str(target))
    if os.path.lexists(target):  # no renameat2 here: a small window remains, but never over a non-empty run
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target))
    os.rename(source, target)
