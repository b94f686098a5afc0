"""New and vanished entries of one folder, from the kernel (Linux inotify through libc, without a thread)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import struct

_IN_MOVED_FROM, _IN_MOVED_TO, _IN_CREATE, _IN_DELETE = 0x40, 0x80, 0x100, 0x200
_IN_DELETE_SELF, _IN_MOVE_SELF, _IN_Q_OVERFLOW, _IN_IGNORED, _IN_ONLYDIR = 0x400, 0x800, 0x4000, 0x8000, 0x1000000
_IN_LOST = _IN_DELETE_SELF | _IN_MOVE_SELF | _IN_Q_OVERFLOW | _IN_IGNORED
_EVENT = struct.Struct("iIII")


class DirWatch:
    """The names of entries created, deleted or moved in one folder since the last ``drain`` (Linux inotify).

    Read without blocking and without a thread: each refresh drains what the kernel queued. When the kernel lost
    track (queue overflow, the folder itself deleted or moved), ``drain`` answers None and the caller rescans.
    Raises OSError when the folder cannot be watched (no such folder, no inotify instances left).
    """

    def __init__(self, folder: str) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        mask = _IN_CREATE | _IN_DELETE | _IN_MOVED_FROM | _IN_MOVED_TO | _IN_DELETE_SELF | _IN_MOVE_SELF | _IN_ONLYDIR
        if libc.inotify_add_watch(fd, os.fsencode(folder), mask) < 0:
            error = ctypes.get_errno()
            os.close(fd)
            raise OSError(error, f"inotify_add_watch failed on {folder}")
        self.fd: int | None = fd
        self.pid = os.getpid()

    def drain(self) -> set[str] | None:
        """The entry names changed since the last drain, or None when the kernel lost track of some."""
        names: set[str] = set()
        lost = False
        while self.fd is not None:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                break
            offset = 0
            while offset + _EVENT.size <= len(data):
                _, mask, _, length = _EVENT.unpack_from(data, offset)
                name = data[offset + _EVENT.size : offset + _EVENT.size + length].split(b"\0", 1)[0]
                offset += _EVENT.size + length
                if mask & _IN_LOST:
                    lost = True
                elif name:
                    names.add(os.fsdecode(name))
        return None if lost else names

    def close(self) -> None:
        """Stop watching (in a forked child, only forget the parent's instance)."""
        fd, self.fd = self.fd, None
        if fd is not None and self.pid == os.getpid():
            os.close(fd)

    def __del__(self) -> None:
        # An index dropped without close() must not keep an inotify instance (128 per user by default).
        with contextlib.suppress(OSError):
            self.close()
