"""Opening what a run folder holds, safely: the one way the folder store reads metadata.json and entity files.

The run folder is opened once, with ``O_DIRECTORY | O_NOFOLLOW`` (a run folder swapped for a symlink is refused,
not followed), and its files are opened relative to that descriptor (``openat``), so no later swap of the folder
can send a read outside it. Files are opened with ``O_NOFOLLOW | O_NONBLOCK``: a link is refused, and a fifo
planted under a listed name never blocks the reader (it is refused as not a regular file). Before an entity is
served, its size is checked against its record, and a file with more than one link (hard-linked to some other
file) is refused: the record cannot vouch for bytes that another name may change.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from typing import Any

from ..document.version import Version, read_if_changed, version_of_bytes
from ..errors import CorruptRunError, EntityNotFoundError, RunNotFoundError
from ..naming import METADATA_FILENAME, PROCESS_DIRNAME, validate_run_id
from .handles import EntityFile, check_recorded_size
from .values import StoredDocument

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


@contextlib.contextmanager
def run_folder_fd(runs_dir: str, run_id: str) -> Iterator[int]:
    """The run folder opened as a directory, never through a link. RunNotFoundError when absent, a link or not
    a directory."""
    try:
        fd = os.open(f"{runs_dir}/{validate_run_id(run_id)}", _DIR_FLAGS)
    except (FileNotFoundError, NotADirectoryError):
        raise RunNotFoundError(f"run {run_id!r} not found") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise RunNotFoundError(f"run {run_id!r} not found (its folder is a link)") from None
        raise RunNotFoundError(f"run {run_id!r} not found ({exc.strerror})") from None
    try:
        yield fd
    finally:
        os.close(fd)


def open_regular(dir_fd: int, name: str) -> tuple[int, os.stat_result]:
    """``name`` in the folder ``dir_fd``, opened for reading: never through a link, never blocking, a regular file
    only. Raises OSError (ELOOP for a link, EINVAL for anything but a regular file)."""
    if not name or "/" in name or "\0" in name or name in (".", ".."):
        raise OSError(errno.ENOENT, "no such file")
    fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def read_document(runs_dir: str, run_id: str, known: object) -> StoredDocument | None:
    """The run's metadata.json, or None when it is still the version ``known`` (see document/version.py)."""
    with run_folder_fd(runs_dir, run_id) as dir_fd:
        try:
            st, data = read_if_changed(METADATA_FILENAME, known if isinstance(known, Version) else None, dir_fd)
        except (FileNotFoundError, NotADirectoryError):
            raise RunNotFoundError(f"run {run_id!r} not found (no metadata.json)") from None
        except OSError as exc:  # a link, a folder or a fifo under the name, no permission
            raise CorruptRunError(f"run {run_id!r}: metadata.json cannot be read: {exc.strerror}") from exc
    if data is None:
        return None
    return StoredDocument(version_of_bytes(st, data), data)


class FolderEntityFile(EntityFile):
    def __init__(self, fd: int, st: os.stat_result) -> None:
        self.size = st.st_size
        self.modified = st.st_mtime
        self.version = f"{st.st_ino:x}-{st.st_size:x}-{st.st_mtime_ns:x}"
        self.file = os.fdopen(fd, "rb")


def open_run_file(runs_dir: str, run_id: str, filename: str) -> tuple[int, os.stat_result]:
    """A file of the run folder, opened safely (module docstring) but not checked against a record: for the ops
    tools, which report what differs. A step of the prompting process (``prompting_process/NAME``) is opened the
    same way from that subfolder, itself opened relative to the run folder and never through a link.
    EntityNotFoundError saying why it cannot be opened."""
    folder, slash, name = filename.partition("/")
    if filename.startswith(".") or (slash and (folder != PROCESS_DIRNAME or "/" in name)):
        raise EntityNotFoundError(f"run {run_id!r} has no file {filename!r}")
    with run_folder_fd(runs_dir, run_id) as dir_fd:
        try:
            if not slash:
                return open_regular(dir_fd, filename)
            sub_fd = os.open(folder, _DIR_FLAGS, dir_fd=dir_fd)  # ELOOP for a link, ENOTDIR for a file
            try:
                return open_regular(sub_fd, name)
            finally:
                os.close(sub_fd)
        except OSError as exc:
            why = ("is not a regular file (or lies behind a link)" if exc.errno in (errno.EINVAL, errno.ELOOP,
                                                                                  errno.ENOTDIR)
                   else "is missing or unreadable")
            raise EntityNotFoundError(f"run {run_id!r} lists {filename!r} but the file {why}") from None


def open_entity(runs_dir: str, run_id: str, record: dict[str, Any]) -> FolderEntityFile:
    """A listed entity's file, opened safely and checked against its record (module docstring)."""
    filename = str(record.get("filename", ""))
    fd, st = open_run_file(runs_dir, run_id, filename)
    try:
        check_recorded_size(run_id, filename, record, st.st_size)
        if st.st_nlink > 1:
            raise EntityNotFoundError(f"run {run_id!r}: {filename!r} is hard-linked to another file; not served")
        return FolderEntityFile(fd, st)
    except BaseException:
        os.close(fd)
        raise
