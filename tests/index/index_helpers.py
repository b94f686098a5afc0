"""Helpers for the run index tests: run folders written directly in the real format, and a deadline poll.

A module of its own (not conftest) so that its name cannot clash with helpers of other test folders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline_recorder import runformat
from pipeline_recorder.atomic import replace_atomically
from pipeline_recorder.document import MetadataDocument
from pipeline_recorder.liveness import current_owner
from pipeline_recorder.naming import METADATA_FILENAME

DEAD_OWNER = {"pid": 2**22 + 12345, "host": current_owner()["host"], "boot_id": current_owner()["boot_id"],
              "start_ticks": 1}


def write_run(
    runs_dir: Path,
    run_id: str,
    *,
    timestamp: str = "2025-11-04T20:12:37.000000+00:00",
    config_name: str = "stillepost",
    user_id: str = "anonymous",
    status: str = "completed",
    owner: dict[str, Any] | None = None,
    entities: int = 0,
) -> Path:
    """A run folder with a metadata.json built by runformat (the real document), without a recorder."""
    header = runformat.new_header(run_id=run_id, config_name=config_name, execution_mode="eco", safety_level="kids",
                                  user_id=user_id, expected_outputs=["input"], owner=owner or current_owner())
    header.update(timestamp=timestamp, status=status)
    if status in runformat.TERMINAL_STATUSES:
        header["finished_at"] = timestamp
    records = []
    for sequence in range(1, entities + 1):
        filename = f"{sequence:02d}_input.txt"
        (runs_dir / run_id).mkdir(parents=True, exist_ok=True)
        (runs_dir / run_id / filename).write_text("x", encoding="utf-8")
        records.append({"sequence": sequence, "type": "input", "filename": filename, "timestamp": timestamp,
                        "metadata": {}, "size": 1, "sha256": "0" * 64, "mime_type": "text/plain; charset=utf-8"})
    folder = runs_dir / run_id
    folder.mkdir(parents=True, exist_ok=True)
    replace_atomically(folder / METADATA_FILENAME, MetadataDocument(header, records).to_bytes())
    return folder


def edit_metadata(folder: Path, **changes: Any) -> None:
    """Change keys of a run's metadata.json in place (as an out-of-band tool would)."""
    path = folder / METADATA_FILENAME
    doc = json.loads(path.read_bytes())
    doc.update(changes)
    replace_atomically(path, MetadataDocument.from_dict(doc).to_bytes())



def ids(page: list[dict[str, Any]]) -> list[str]:
    return [run["run_id"] for run in page]
