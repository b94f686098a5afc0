"""Reading every run's summary straight from the store (used when no run index is available)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..errors import CorruptRunError, RunNotFoundError
from ..runformat import summarize
from ..stores.base import Store
from .timespec import parse_stamp

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class RunScan:
    """Run summaries (newest first) and the ids of run folders whose metadata.json could not be read."""

    runs: list[dict[str, Any]] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)


def started(summary: dict[str, Any]) -> datetime | None:
    return parse_stamp(summary.get("timestamp"))


def scan_runs(store: Store) -> RunScan:
    """Every run in the store, newest first (liveness applied: a dead writer's run reads as interrupted)."""
    scan = RunScan()
    for run_id in store.run_ids():
        try:
            scan.runs.append(summarize(store.read_metadata(run_id)))
        except RunNotFoundError:
            continue  # removed meanwhile, or a folder without metadata yet
        except (CorruptRunError, OSError):
            scan.unreadable.append(run_id)
    scan.runs.sort(key=lambda s: (started(s) or EPOCH, str(s["run_id"])), reverse=True)
    scan.unreadable.sort()
    return scan
