"""What a run folder stores, listed in its document or not: every entity-named regular file, and the steps in its
prompting process folder (``verify`` and ``repair`` compare them with the document). Nothing is followed through a
link: a link, a fifo or a folder under an entity name is no stored file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import RunNotFoundError
from ..naming import PROCESS_DIRNAME, parse_entity_filename, validate_run_id
from .values import StoredFile


def stored_files(runs_dir: Path, run_id: str) -> Iterator[StoredFile]:
    folder = runs_dir / validate_run_id(run_id)
    try:
        entries = os.scandir(folder)
    except (FileNotFoundError, NotADirectoryError):
        raise RunNotFoundError(f"run {run_id!r} not found in {runs_dir}") from None
    with entries:
        yield from _entity_files(entries, folder, "")


def _entity_files(entries: Iterable[os.DirEntry[str]], folder: Path, prefix: str) -> Iterator[StoredFile]:
    """The entity-named regular files among ``entries`` of ``folder``, named ``prefix`` + their name; in the run
    folder itself (no prefix), those of its prompting process folder too (a real folder, an unreadable one holds
    nothing)."""
    for entry in entries:
        if parse_entity_filename(entry.name) is not None and entry.is_file(follow_symlinks=False):
            yield StoredFile(prefix + entry.name, entry.stat(follow_symlinks=False).st_size)
        elif not prefix and entry.name == PROCESS_DIRNAME and entry.is_dir(follow_symlinks=False):
            try:
                steps = os.scandir(folder / PROCESS_DIRNAME)
            except OSError:
                continue
            with steps:
                yield from _entity_files(steps, folder / PROCESS_DIRNAME, f"{PROCESS_DIRNAME}/")
