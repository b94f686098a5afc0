"""Reading every run's summary straight from the store (used when no run index is available), and finding the run
a user means by an id or a unique prefix of one (the viewer shows ids cut to 8 characters)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..errors import CorruptRunError, RunNotFoundError, ValidationError
from ..naming import validate_run_id
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


SHOWN_MATCHES = 10


def match_run_id(text: str, run_ids: Iterable[str], where: str) -> str:
    """The run ``text`` names among ``run_ids``: the one equal to it, else the only one it is a prefix of.

    RunNotFoundError when none matches; ValidationError (listing the matches) when several start with it.
    ``where`` names the store or server in the messages.
    """
    matches = sorted(run_id for run_id in run_ids if run_id.startswith(text))
    if text in matches:
        return text
    if not matches:
        raise RunNotFoundError(f"run {text!r} not found in {where} (no run id starts with it; "
                               "`pipeline-recorder ls` lists the runs)")
    if len(matches) > 1:
        more = f" and {len(matches) - SHOWN_MATCHES} more" if len(matches) > SHOWN_MATCHES else ""
        raise ValidationError(f"run id prefix {text!r} matches {len(matches)} runs: "
                              f"{', '.join(matches[:SHOWN_MATCHES])}{more}; give more of the id")
    return matches[0]


def resolve_run_id(store: Store, text: str) -> str:
    """The run id ``text`` names in the store: the id itself, or a unique prefix of one (see ``match_run_id``)."""
    validate_run_id(text)  # a prefix of a valid id is itself a valid id
    if store.run_exists(text):
        return text  # an exact name wins, even when it is also the prefix of a longer id
    return match_run_id(text, store.run_ids(), store.location())



def where_label(store: Store, run_id: str) -> str:
    """What ``store.location(run_id)`` is, for people: a ``folder`` on this machine, or the ``location`` of a
    store without local folders (an object URL)."""
    return "folder" if store.local_folder(run_id) is not None else "location"
