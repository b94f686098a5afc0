"""A run folder's metadata.json, replaced atomically and durably at every change -- in place, where that is safe.

Written whole, a change costs what the document's bytes cost: at 10,000 entities metadata.json is 3 MB, and writing
that to a new file and fsyncing it made the 10,000th save cost 2 to 3 times the 10th. Readers must still find a
complete document at every moment, after kill -9 and after a power cut too. So while a run is running, its folder
keeps a second copy under the helper name ``.metadata.spare``: the version before the current one. A change is
written into the spare in place -- the header (padded while the run is running, ``layout.laid_out_length``, so that
a longer one keeps its length) and the records appended since the spare's version, nothing else -- fdatasynced, and
then the two names are swapped in one step (``atomic.exchange``, the kernel's RENAME_EXCHANGE) and the folder
fsynced. metadata.json is the new version; the spare is the one before it. What a save writes no longer grows with
the run.

A file is changed in place only when nobody can be reading it, checked each time:

- it is a file this writer wrote itself, from the same document (whose records only ever grow), still with the
  stat it had when this writer swapped it out: another writer replacing the name unlinks it, and any change,
  rename or link moves its ctime;
- it has one name only (a hard link, such as a backup's, would see it change); and
- the kernel confirms that no other open file description of it exists (``openers.held_elsewhere``): a reader that
  opened metadata.json before it became the spare, and is still reading it, keeps it from being changed.

Anything else -- the first two changes of a run, another writer in between, a reader holding the old version, a
file system without leases or RENAME_EXCHANGE -- takes the way that needs none of it: a new file, fsynced, renamed
into place (or swapped, so that the version it replaces becomes the spare). When a run has ended (any status but
``running``) its document is written whole, without padding, and the spare is removed: a finished run's folder is
what it always was. The padding is a function of the document alone, so every store and tool lays out the same
document in the same bytes (an export or a migration is byte for byte).
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path

from .. import atomic, openers
from ..document import MetadataDocument
from ..document.layout import changed_since
from ..document.version import Version, version_written
from ..naming import METADATA_FILENAME

SPARE_FILENAME = ".metadata.spare"
_OPEN_SPARE = os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


@dataclass(frozen=True)
class _Written:
    """A version of the document as this writer wrote it."""

    doc: MetadataDocument  # written from this object, whose fragments only ever grow
    head_length: int  # bytes of its header, padding and all
    fragments_length: int  # bytes of entity fragments it holds


@dataclass(frozen=True)
class _Spare:
    fd: int
    written: _Written
    identity: tuple[int, int, int, int, int]  # device, inode, size, mtime, ctime when swapped out


def _pwrite_all(fd: int, buffers: list[bytes | bytearray | memoryview], offset: int) -> int:
    """Write the buffers in order at ``offset`` (a short write is finished plainly); returns where they end."""
    total = sum(len(buffer) for buffer in buffers)
    written = os.pwritev(fd, buffers, offset)
    if written < total:
        rest = memoryview(b"".join(buffers))[written:]
        while rest:
            step = os.pwrite(fd, rest, offset + total - len(rest))
            rest = rest[step:]
    return offset + total


def _identity(st: os.stat_result) -> tuple[int, int, int, int, int]:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


class DocumentFile:
    """metadata.json of one run folder, as one writer replaces it (the caller holds the run lock)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / METADATA_FILENAME
        self._folder = folder
        self._spare_path = folder / SPARE_FILENAME
        self._current: tuple[Version, _Written] | None = None  # metadata.json, when this writer wrote it
        self._spare: _Spare | None = None

    def replace(self, doc: MetadataDocument, known: Hashable | None, *, running: bool) -> Version:
        """Make ``doc`` the run's metadata.json, durably; ``known`` is the version the caller last read or wrote
        (the file on disk now). Returns the new version. Raises OSError of the step that failed: metadata.json then
        holds the old version or -- if only the last folder fsync failed -- the new one."""
        previous = None
        if self._current is not None and self._current[0] == known and self._current[1].doc is doc:
            previous = self._current[1]
        self._current = None
        try:
            head = doc.laid_out_head()
            spare = self._usable_spare(doc, len(head), running)
            written = self._in_place(spare, doc, head) if spare is not None else None
            if written is None:
                written = self._whole(doc, len(head), previous if running else None, running)
            else:
                self._keep_as_spare(previous)
            atomic.fsync_dir(self._folder)
            version = version_written(self.path, head)
        except BaseException:
            self.forget()
            raise
        self._current = (version, written)
        return version

    def _usable_spare(self, doc: MetadataDocument, head_length: int, running: bool) -> _Spare | None:
        """The spare, when it may be written in place (see the module docstring); else None, and it is let go
        (a run that ended is written whole, and its spare removed)."""
        spare, self._spare = self._spare, None
        if spare is None:
            return None
        # Records written from another document object (a repair, a hand edit read back whole) may differ from
        # those the spare holds; a header laid out longer or shorter (it outgrew its padding) does not fit.
        usable = running and spare.written.doc is doc and head_length == spare.written.head_length
        if usable:
            try:
                st = os.fstat(spare.fd)
            except OSError:
                usable = False
            else:
                # Changed, renamed, linked or unlinked since (each moves the ctime), open anywhere but here -- or
                # linked elsewhere within one tick of a coarse clock, which the ctime may not show.
                usable = (_identity(st) == spare.identity and st.st_nlink == 1
                          and not openers.held_elsewhere(spare.fd))
        if not usable:
            os.close(spare.fd)
            return None
        return spare

    def _in_place(self, spare: _Spare, doc: MetadataDocument, head: bytes) -> _Written | None:
        """Bring the spare to ``doc`` in place and swap it in; None (nothing swapped) where the swap is not
        supported, so that the caller writes the document whole."""
        try:
            head_length, start = spare.written.head_length, spare.written.fragments_length
            _pwrite_all(spare.fd, [head], 0)
            offset, rest = changed_since(doc.fragments, start)
            end = _pwrite_all(spare.fd, rest, head_length + offset)
            if spare.identity[2] > end:
                os.ftruncate(spare.fd, end)
            os.fdatasync(spare.fd)  # the new version is on disk before its name is
            if not atomic.exchange(self._spare_path, self.path):
                return None
        finally:
            os.close(spare.fd)
        return _Written(doc, head_length, len(doc.fragments))

    def _whole(self, doc: MetadataDocument, head_length: int, previous: _Written | None, running: bool) -> _Written:
        """Write the document to a new file and put it in place; the version it replaces becomes the spare when it
        is this writer's (``previous``), else the spare name is left as it is (a run that ended: removed)."""
        temp = atomic.write_temp(self._folder, doc.chunks())
        try:
            swapped = previous is not None and atomic.exchange(temp, self.path)
            if not swapped:
                os.replace(temp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        # The new version is in place: what follows only keeps or removes the version before, and never fails.
        if swapped:
            try:
                os.replace(temp, self._spare_path)
            except OSError:  # something else is in the way (a folder of that name): no spare
                with contextlib.suppress(OSError):
                    os.unlink(temp)
            else:
                self._keep_as_spare(previous)
        if not running:
            with contextlib.suppress(OSError):
                os.unlink(self._spare_path)
        return _Written(doc, head_length, len(doc.fragments))

    def _keep_as_spare(self, previous: _Written | None) -> None:
        """Hold the file now under the spare's name -- the version just replaced -- for the next change, when this
        writer knows its layout (``previous``). Never raises: the new version is in place already, and without a
        spare the next change is written whole."""
        if previous is None:
            return
        try:
            fd = os.open(self._spare_path, _OPEN_SPARE)
        except OSError:
            return
        try:
            st = os.fstat(fd)
            if stat.S_ISREG(st.st_mode) and openers.prepare(fd):
                self._spare, fd = _Spare(fd, previous, _identity(st)), -1
        except OSError:
            pass
        finally:
            if fd >= 0:
                os.close(fd)

    def forget(self) -> None:
        """Trust nothing known about the files (after a failure, or when closing)."""
        self._current = None
        spare, self._spare = self._spare, None
        if spare is not None:
            os.close(spare.fd)
