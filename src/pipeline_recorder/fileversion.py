"""Whether a run's metadata.json is still the version last read, without reading it whole.

A stat signature (inode, size, mtime, ctime) alone cannot tell: ext4 hands a freed inode number to the next new
file at once, so a metadata.json replaced within one coarse timestamp tick can have the inode, size, mtime and ctime
of the version before. Every write changes the document's header (``revision``, ``updated_at``), and metadata.json
begins with it, so a version is its signature *and* its first bytes: the file is unchanged when both still match,
which costs one ``fstat`` and one small ``pread``. The recorder (before each change) and every cached reader (the
change feed, the HTTP status cache) decide this here, the same way.

>>> stat_result, data = read_if_changed(path, None)          # doctest: +SKIP
>>> known = version_of(stat_result, parse(data), data)        # doctest: +SKIP
>>> read_if_changed(path, known)[1] is None                   # doctest: +SKIP
True
"""

from __future__ import annotations

import errno
import os
import stat
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .errors import CorruptRunError, RunNotFoundError
from .runformat import head_bytes

V = TypeVar("V")

Signature = tuple[int, int, int, int]


@dataclass(frozen=True)
class Version:
    """One version of a file: its stat signature and the bytes it begins with (empty: never trusted)."""

    signature: Signature
    head: bytes


def signature_of(st: os.stat_result) -> Signature:
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def version_of(st: os.stat_result, doc: dict[str, Any], data: bytes) -> Version:
    """The version of a metadata.json read whole: ``st`` its stat, ``data`` its bytes, ``doc`` what they parse to.

    The header is compared, not the whole file: it changes with every write and is small however long the entity
    list grows. A file that does not begin with the header as runformat writes it (made by hand or by another
    tool) is compared byte for byte instead.
    """
    head = head_bytes(doc)
    return Version(signature_of(st), head if data.startswith(head) else data)


def read_if_changed(path: str | os.PathLike[str], known: Version | None) -> tuple[os.stat_result, bytes | None]:
    """Open ``path`` (never through a symlink) and return its stat and its whole content -- or ``None`` as the
    content when the file is still the version ``known``.

    Raises OSError: FileNotFoundError when absent, ELOOP for a link, EINVAL for anything but a regular file.
    """
    # O_NONBLOCK: a fifo planted under the name must not hang the reader (no effect on regular files).
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        if (known is not None and known.head and known.signature == signature_of(st)
                and os.pread(fd, len(known.head), 0) == known.head):
            return st, None
        # The size first, exactly, then small reads to the end: asking for more than the file holds makes each
        # read allocate a buffer of the whole size again (for a 3 MB file that cost ten times the read itself).
        chunks = [os.read(fd, st.st_size)] if st.st_size else []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return st, b"".join(chunks)
    finally:
        os.close(fd)


class VersionCache(Generic[V]):
    """What a reader made of the latest version of each of a bounded number of metadata.json files (LRU,
    thread-safe): the file is read again only when it changed, and then ``build`` turns its bytes -- with what
    was made of the version before, so a new version can be parsed from the old -- into the new value."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[Version, V]] = OrderedDict()

    def load(self, key: str, path: str | os.PathLike[str], run_id: str,
             build: Callable[[bytes, V | None], tuple[dict[str, Any], V]]) -> V:
        """The value for the file's current version. ``build(data, previous)`` returns the parsed document (for
        the version's header) and the value. RunNotFoundError when the file is absent, CorruptRunError when it
        cannot be read (a link, a folder or a fifo under the name, no permission)."""
        with self._lock:
            cached = self._entries.get(key)
        try:
            st, data = read_if_changed(path, cached[0] if cached is not None else None)
        except (FileNotFoundError, NotADirectoryError):
            raise RunNotFoundError(f"run {run_id!r} not found (no metadata.json)") from None
        except OSError as exc:
            raise CorruptRunError(f"run {run_id!r}: metadata.json cannot be read: {exc.strerror}") from exc
        if data is None:
            assert cached is not None
            with self._lock:
                if key in self._entries:
                    self._entries.move_to_end(key)
            return cached[1]
        doc, value = build(data, cached[1] if cached is not None else None)
        with self._lock:
            self._entries[key] = (version_of(st, doc, data), value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return value
