"""Reading every run's summary straight from the store (used when no run index is available)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..errors import CorruptRunError, RunNotFoundError
from ..store import RunStore
from .timespec import parse_stamp

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SUMMARY_KEYS = ("run_id", "timestamp", "config_name", "execution_mode", "safety_level", "user_id", "status",
                "current_state", "updated_at", "finished_at")


@dataclass
class RunScan:
    """Run summaries (newest first) and the ids of run folders whose metadata.json could not be read."""

    runs: list[dict[str, Any]] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)


def summarize(doc: dict[str, Any]) -> dict[str, Any]:
    """The listing fields of a run's metadata, with its entity count."""
    summary = {key: doc.get(key) for key in SUMMARY_KEYS}
    summary["entity_count"] = len(doc.get("entities", []))
    return summary


def started(summary: dict[str, Any]) -> datetime | None:
    return parse_stamp(summary.get("timestamp"))


def scan_runs(store: RunStore) -> RunScan:
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
