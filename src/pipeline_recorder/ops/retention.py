"""Retention (``pipeline-recorder gc``): choose runs to remove, and remove them so that a stop halfway is harmless.

A run is removed by the store (``Store.delete_run``), under its transaction with its status read again, so that it
vanishes whole from every listing at once (the folder store renames it to hidden trash, then deletes that; a stop
halfway leaves only trash, which the next ``gc`` or ``verify --repair`` deletes). A run that is ``running`` with a
live writer is never chosen and never removed.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .. import runformat
from ..errors import ValidationError
from ..stores.base import Store
from .listing import EPOCH, scan_runs, started
from .timespec import parse_stamp

REMOVABLE_STATUSES = runformat.STATUSES - {runformat.RUNNING}
DEFAULT_KIND = "pipeline"  # the kind of a run that names none (runs recorded before kinds existed)


@dataclass(frozen=True)
class Doomed:
    """A run chosen for removal and why."""

    run_id: str
    status: str
    timestamp: str
    config_name: str
    reason: str


@dataclass
class GcPlan:
    """The runs to remove, the running runs spared, and unreadable runs left for ``verify``."""

    remove: list[Doomed] = field(default_factory=list)
    spared_running: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)


def parse_statuses(text: str) -> frozenset[str]:
    """``"failed,blocked"`` -> the set; ValidationError for unknown statuses or ``running``."""
    names = frozenset(part.strip() for part in text.split(",") if part.strip())
    wrong = sorted(names - REMOVABLE_STATUSES)
    if not names or wrong:
        raise ValidationError(f"invalid --status {text[:60]!r}: gc removes runs with status "
                              f"{', '.join(sorted(REMOVABLE_STATUSES))} (comma-separated); never running ones")
    return names


@dataclass(frozen=True)
class GcRules:
    """Which runs gc removes: those last changed more than ``older_than`` ago, with a status in ``statuses``, of
    the ``kind`` and of the ``session_id`` (retention per kind or session, e.g. class sessions after 30 days), and
    not among the ``keep_last`` newest runs (by start time; of that kind and session when given), which are always
    kept; a rule left None does not apply. ValidationError when no rule is given or ``keep_last`` is negative."""

    older_than: timedelta | None = None
    keep_last: int | None = None
    statuses: Collection[str] | None = None
    kind: str | None = None
    session_id: str | None = None

    def __post_init__(self) -> None:
        if all(rule is None for rule in (self.older_than, self.keep_last, self.statuses, self.kind, self.session_id)):
            raise ValidationError("say which runs to remove: --older-than, --keep-last, --status, --kind and/or "
                                  "--session")
        if self.keep_last is not None and self.keep_last < 0:
            raise ValidationError(f"--keep-last must be 0 or more, got {self.keep_last}")


def plan_gc(store: Store, rules: GcRules, *, now: datetime) -> GcPlan:
    """The runs matching every one of ``rules`` (see GcRules) at ``now``. Running runs are never chosen."""
    older_than, keep_last, statuses = rules.older_than, rules.keep_last, rules.statuses
    kind, session_id = rules.kind, rules.session_id
    scan = scan_runs(store)
    plan = GcPlan(unreadable=scan.unreadable)
    chosen = [s for s in scan.runs if (kind is None or (s.get("kind") or DEFAULT_KIND) == kind)
              and (session_id is None or s.get("session_id") == session_id)]
    newest_first = sorted(chosen, key=lambda s: (started(s) or EPOCH, str(s["run_id"])), reverse=True)
    kept = {s["run_id"] for s in newest_first[:keep_last]} if keep_last is not None else set()
    for summary in newest_first:
        run_id, status = str(summary["run_id"]), str(summary["status"])
        if status == runformat.RUNNING:
            plan.spared_running.append(run_id)
            continue
        if run_id in kept:
            continue
        reasons = []
        if older_than is not None:
            changed = parse_stamp(summary.get("updated_at")) or started(summary)
            if changed is None or now - changed <= older_than:
                continue
            reasons.append(f"unchanged for {_age(now - changed)}")
        if statuses is not None:
            if status not in statuses:
                continue
            reasons.append(f"status {status}")
        if kind is not None:
            reasons.append(f"kind {kind}")
        if session_id is not None:
            reasons.append(f"session {session_id}")
        if keep_last is not None:
            reasons.append(f"not among the {keep_last} newest")
        plan.remove.append(Doomed(run_id, status, str(summary.get("timestamp")), str(summary.get("config_name")),
                                  ", ".join(reasons)))
    return plan


def _age(delta: timedelta) -> str:
    if delta.days >= 1:
        return f"{delta.days}d"
    hours = int(delta.total_seconds() // 3600)
    return f"{hours}h" if hours else f"{int(delta.total_seconds() // 60)}m"


def remove_run(store: Store, run_id: str) -> bool:
    """Remove one run unless it is running with a live writer (then False). RunNotFoundError if absent."""
    # A live run, or one that cannot be judged, is left alone.
    return store.delete_run(run_id, lambda doc: doc is not None and doc.get("status") != runformat.RUNNING)
