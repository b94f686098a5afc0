"""The folder store's helper files: ``{run folder}/.thumbnails/{name}`` and the like, hidden, never entities.

Read and written relative to the run folder opened without following links (``folder_files.run_folder_fd``), and
the hidden folder the same way, so a link planted under either name is refused, never followed. A write goes to a
temp file in the hidden folder, fsynced, then renamed over the name: a reader sees a whole file or none.
"""

from __future__ import annotations

import contextlib
import errno
import os
import uuid

from ..atomic import TEMP_PREFIX, storage_errors
from ..errors import RunNotFoundError
from ..naming import METADATA_FILENAME
from . import folder_files
from .helper_names import MAX_HELPER_BYTES, validate_helper_name

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def read_helper(runs_dir: str, run_id: str, name: str) -> bytes | None:
    folder, filename = validate_helper_name(name)
    try:
        with folder_files.run_folder_fd(runs_dir, run_id) as run_fd:
            helpers_fd = os.open(folder, _DIR_FLAGS, dir_fd=run_fd)
            try:
                fd, st = folder_files.open_regular(helpers_fd, filename)
            finally:
                os.close(helpers_fd)
    except (OSError, RunNotFoundError):
        return None  # absent, a link, not a regular file: as good as not made yet
    with os.fdopen(fd, "rb") as file:
        if st.st_size > MAX_HELPER_BYTES:
            return None
        return file.read(MAX_HELPER_BYTES + 1)[:MAX_HELPER_BYTES]


def write_helper(runs_dir: str, run_id: str, name: str, data: bytes) -> None:
    folder, filename = validate_helper_name(name)
    with folder_files.run_folder_fd(runs_dir, run_id) as run_fd, storage_errors(f"write {name} of run {run_id}"):
        try:
            os.stat(METADATA_FILENAME, dir_fd=run_fd, follow_symlinks=False)
        except FileNotFoundError:
            raise RunNotFoundError(f"run {run_id!r} not found (no metadata.json)") from None
        with contextlib.suppress(FileExistsError):
            os.mkdir(folder, 0o755, dir_fd=run_fd)
        try:
            helpers_fd = os.open(folder, _DIR_FLAGS, dir_fd=run_fd)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise OSError(errno.EACCES, f"{folder} in the run folder is not a folder") from None
            raise
        try:
            temp = f"{TEMP_PREFIX}{uuid.uuid4().hex}"
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644,
                         dir_fd=helpers_fd)
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                os.rename(temp, filename, src_dir_fd=helpers_fd, dst_dir_fd=helpers_fd)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp, dir_fd=helpers_fd)
                raise
        finally:
            os.close(helpers_fd)
