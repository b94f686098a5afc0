"""Whether a run's metadata.json is still the version last read, without reading it whole.

A stat signature (inode, size, mtime, ctime) alone cannot tell: ext4 hands a freed inode number to the next new
file at once, so a metadata.json replaced within one coarse timestamp tick can have the inode, size, mtime and ctime
of the version before. Every write changes the document's header (``revision``, ``updated_at``), and metadata.json
begins with it, so a version is its signature *and* its first bytes: the file is unchanged when both still match,
which costs one ``fstat`` and one small ``pread``. The folder store decides this here for every reader of a run
(the recorder before each change, the change feed, the HTTP status cache), the same way.

>>> stat_result, data = read_if_changed(path, None)          # doctest: +SKIP
>>> known = version_of(stat_result, parse(data), data)        # doctest: +SKIP
>>> read_if_changed(path, known)[1] is None                   # doctest: +SKIP
True
"""

from __future__ import annotations

import errno
import os
import stat
import time
from dataclasses import dataclass
from typing import Any

from .layout import head_bytes, head_of, unpad_head

Signature = tuple[int, int, int, int]


@dataclass(frozen=True)
class Version:
    """One version of a file: its stat signature and the bytes it begins with (empty: never trusted)."""

    signature: Signature
    head: bytes


def signature_of(st: os.stat_result) -> Signature:
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


# A file mtime this close to "now" may share a clock tick with a change not yet visible to us.
RACY_NS = 100_000_000


def signature_text(st: os.stat_result) -> str:
    """The stat signature as text, for a reader that stores it (the run index): marked ``racy:`` (never
    trusted) when the mtime is within RACY_NS of now, since a file changed within the same clock tick as our read
    may change again unseen."""
    sig = ":".join(map(str, signature_of(st)))
    return "racy:" + sig if time.time_ns() - st.st_mtime_ns < RACY_NS else sig


def same_text(stored: str, current: str | None) -> bool:
    """Whether a stored signature text still stands for the current one (a racy one never does)."""
    return current is not None and not stored.startswith("racy:") and stored == current


def version_of(st: os.stat_result, doc: dict[str, Any], data: bytes) -> Version:
    """The version of a metadata.json read whole: ``st`` its stat, ``data`` its bytes, ``doc`` what they parse to.

    The header is compared, not the whole file: it changes with every write and is small however long the entity
    list grows. A file that does not begin with the header as the writer lays it out (made by hand or by another
    tool) is compared byte for byte instead.
    """
    head = head_of(data)
    return Version(signature_of(st), head if head is not None and unpad_head(head) == head_bytes(doc) else data)


def version_of_bytes(st: os.stat_result, data: bytes) -> Version:
    """The version of a metadata.json read whole, without parsing it: the header is everything up to the entity
    list's key (a newline cannot occur inside a JSON string, so the first such marker is the writer's); a file
    without that marker (made by hand or by another tool) is compared byte for byte."""
    head = head_of(data)
    return Version(signature_of(st), head if head is not None else data)


def version_written(path: str | os.PathLike[str], head: bytes) -> Version:
    """The version of a file this writer just replaced (under its lock) with content beginning with ``head``."""
    return Version(signature_of(os.stat(path, follow_symlinks=False)), head)


def read_if_changed(path: str | os.PathLike[str], known: Version | None,
                    dir_fd: int | None = None) -> tuple[os.stat_result, bytes | None]:
    """Open ``path`` (never through a symlink; relative to the folder ``dir_fd`` when given) and return its stat
    and its whole content -- or ``None`` as the content when the file is still the version ``known``.

    Raises OSError: FileNotFoundError when absent, ELOOP for a link, EINVAL for anything but a regular file.
    """
    # O_NONBLOCK: a fifo planted under the name must not hang the reader (no effect on regular files).
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
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
