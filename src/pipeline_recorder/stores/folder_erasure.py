"""The folder store's erasure log: ``pipeline_runs/.erasures.jsonl``, one JSON line per erasure (``ops/erase.py``
builds the entries; no personal data in them), appended durably, read oldest first.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .folder_layout import ERASURE_LOG


def record_erasure(runs_dir: Path, entry: dict[str, Any]) -> None:
    runs_dir.mkdir(parents=True, exist_ok=True)
    line = json.dumps(entry, ensure_ascii=True, sort_keys=True).encode() + b"\n"
    fd = os.open(runs_dir / ERASURE_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, line)  # one write of one line: appends never interleave
        os.fsync(fd)
    finally:
        os.close(fd)


def erasures(runs_dir: Path) -> list[dict[str, Any]]:
    try:
        lines = (runs_dir / ERASURE_LOG).read_bytes().splitlines()
    except FileNotFoundError:
        return []
    entries = []
    for line in lines:
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue  # a line torn by a crash mid-append
    return entries
