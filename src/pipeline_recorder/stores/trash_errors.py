"""The trash's refusals, worded once for every store (``folder_trash.py``, ``shared/trash.py``): each says what
was refused and what the caller can do instead.
"""

from __future__ import annotations

from ..errors import RunExistsError, RunInTrashError


def id_in_trash(run_id: str) -> RunInTrashError:
    """``create_run`` of an id the trash holds."""
    return RunInTrashError(f"run {run_id!r} is in the trash: restore it (`pipeline-recorder restore {run_id}`) or "
                           "empty the trash before using its id again")


def already_trashed(run_id: str) -> RunInTrashError:
    """``trash_run`` of a run whose id the trash holds already."""
    return RunInTrashError(f"the trash already holds a run {run_id!r}: restore or purge that one before this run "
                           "of the same id can go to the trash")


def exists_outside_trash(run_id: str) -> RunExistsError:
    """``restore_run`` of a run whose id is taken outside the trash."""
    return RunExistsError(f"a run {run_id!r} exists outside the trash: delete it first to restore the trashed one, "
                          "or leave that one in the trash")
