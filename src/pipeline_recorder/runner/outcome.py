"""What a pipeline run tells: a progress event while it runs (``RunEvent``) and how it ended (``RunOutcome``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..recorder import LivePipelineRecorder

if TYPE_CHECKING:
    from ..remote.recorder import RemoteRecorder


@dataclass(frozen=True)
class RunEvent:
    """What a progress callback hears: a ``state`` change, an ``entity`` saved, or the final ``status``."""

    kind: str
    run_id: str
    stage: int
    step: str
    progress: str
    entity_type: str | None = None
    status: str | None = None


ProgressCallback = Callable[[RunEvent], None]


@dataclass
class RunOutcome:
    """How a run ended. ``error``/``error_stage`` say why when it did not complete."""

    run_id: str
    status: str
    config_name: str
    run_folder: Path | None  # None when the run is not kept in a folder of this machine (see ``location``)
    final_output: str | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    error_stage: int | None = None
    error_type: str | None = None
    safety: dict[str, Any] | None = None
    location: str = ""  # where the run is recorded, for people: its folder, object URL or server URL
    # The recorder server that holds the run when it was recorded remotely (PIPELINE_RECORDER_SERVER), else None.
    server: str | None = None


def started_outcome(recorder: LivePipelineRecorder | RemoteRecorder, config_name: str) -> RunOutcome:
    """The outcome of a run that has begun, saying where it is recorded."""
    if isinstance(recorder, LivePipelineRecorder):
        store = recorder.store
        return RunOutcome(recorder.run_id, "running", config_name, store.local_folder(recorder.run_id),
                          location=store.location(recorder.run_id))
    return RunOutcome(recorder.run_id, "running", config_name, None, location=recorder.get_status_url(),
                      server=recorder.server_url)
