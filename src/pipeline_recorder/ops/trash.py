"""Deleting runs into the trash, restoring them, listing the trash and emptying it: the one home of these rules,
used by the CLI (``delete``, ``restore``, ``trash``, ``gc``) and the HTTP routes alike.

- A run that is ``running`` with a live writer is never trashed (RunStillRunningError): it would vanish under its
  writer. An interrupted run (its writer is gone) may be. A run whose document cannot be read is refused too
  (CorruptRunError): nobody can tell whether it is still written; ``verify --repair`` first.
- A trashed run is in no listing and answers "not found" everywhere until it is restored; its id stays taken.
- Emptying the trash (``gc``) deletes for good the runs trashed longer ago than an age (default
  ``DEFAULT_TRASH_AGE``), and finishes purges a stopped process began.

The moves themselves are the store's (``Store.trash_run`` etc.), each atomic: see docs/RELIABILITY.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .. import runformat
from ..errors import CorruptRunError, RecorderError, RunStillRunningError
from ..runformat import summarize
from ..stores.base import Store, TrashedRun

# How long a deleted run stays restorable before ``gc`` empties it from the trash (``gc --trash-older-than``).
DEFAULT_TRASH_AGE = timedelta(days=7)
# At most this many runs in one selection (``POST /api/pipeline/runs/delete``).
MAX_SELECTION = 200


def delete_run(store: Store, run_id: str) -> None:
    """Move one run to the trash. RunNotFoundError, RunStillRunningError, CorruptRunError, RunInTrashError."""
    refused: list[RecorderError] = []

    def may_trash(doc: dict[str, Any] | None) -> bool:
        if doc is None:
            refused.append(CorruptRunError(f"run {run_id!r} cannot be read, so nobody can tell whether it is still "
                                           "written; check it with `pipeline-recorder verify --repair` first"))
        elif doc.get("status") == runformat.RUNNING:
            refused.append(RunStillRunningError(f"run {run_id!r} is still running (its writer is alive): cancel "
                                                "it or wait until it ends, then delete it"))
        return not refused

    if not store.trash_run(run_id, may_trash):
        raise refused[0]


def restore_run(store: Store, run_id: str) -> None:
    """Move a run back out of the trash. RunNotFoundError (not in the trash), RunExistsError."""
    store.restore_run(run_id)


@dataclass(frozen=True)
class Outcome:
    """What became of one run of a selection: ``error`` is None when it was done."""

    run_id: str
    error: RecorderError | None = None


def for_each(run_ids: Iterable[str], action: Callable[[str], None]) -> list[Outcome]:
    """``action`` on each run in turn; one run's refusal never stops the others."""
    outcomes = []
    for run_id in dict.fromkeys(run_ids):
        try:
            action(run_id)
        except RecorderError as exc:
            outcomes.append(Outcome(run_id, exc))
        else:
            outcomes.append(Outcome(run_id))
    return outcomes


def trashed_at_iso(trashed: TrashedRun) -> str:
    return datetime.fromtimestamp(trashed.trashed_at, UTC).isoformat()


def trash_listing(store: Store) -> list[dict[str, Any]]:
    """The runs in the trash, most recently trashed first: each run's listing summary (what ``ls`` shows; only
    ``run_id`` when its document cannot be read) with ``trashed_at``."""
    listed = []
    for trashed in sorted(store.trashed_runs(), key=lambda t: (t.trashed_at, t.run_id), reverse=True):
        if trashed.purging:
            continue  # being deleted for good: no longer restorable, so no longer offered
        summary = summarize(trashed.doc) if trashed.doc is not None else {"run_id": trashed.run_id}
        listed.append({**summary, "trashed_at": trashed_at_iso(trashed)})
    return listed


def expired(store: Store, *, now: datetime, older_than: timedelta = DEFAULT_TRASH_AGE) -> list[TrashedRun]:
    """The trashed runs that emptying the trash deletes: trashed longer ago than ``older_than``, and any whose
    purge was begun."""
    cutoff = (now - older_than).timestamp()
    return sorted((trashed for trashed in store.trashed_runs() if trashed.purging or trashed.trashed_at < cutoff),
                  key=lambda t: (t.trashed_at, t.run_id))


def empty_trash(store: Store, doomed: Iterable[TrashedRun]) -> list[str]:
    """Delete ``doomed`` for good (see ``expired``); the ids purged now (one restored meanwhile is skipped)."""
    return [trashed.run_id for trashed in doomed if store.purge_trashed(trashed.run_id)]
