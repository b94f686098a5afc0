"""One run folder as the run index stores it: its summary row, and the signatures that tell when to read it again.

A signature (inode, size, mtime, ctime of metadata.json, or of the folder while it has none) stands for the bytes
last read: the same signature means the same content, so a refresh stats a file instead of reading it.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .. import runfields, runformat
from ..document import parse_metadata
from ..document.version import read_if_changed
from ..document.version import signature_text as signature
from ..errors import CorruptRunError
from ..liveness import run_is_alive
from ..naming import METADATA_FILENAME

log = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Row:
    """One run as the index stores it."""

    run_id: str
    ts_us: int
    config_name: str
    user_id: str
    status: str
    disk_status: str
    writers: str | None  # JSON {"owner", "writers"} of a running run: what run_is_alive judges; else None
    sig: str
    summary: str
    kind: str
    session_id: str | None
    device_id: str | None
    tags: str  # JSON array of the run's tags

    def values(self) -> tuple[Any, ...]:
        """The row's columns in the order of the ``runs`` table."""
        return (self.run_id, self.ts_us, self.config_name, self.user_id, self.status, self.disk_status,
                self.writers, self.sig, self.summary, self.kind, self.session_id, self.device_id, self.tags)


def timestamp_us(value: str) -> int:
    """Microseconds since the epoch of an ISO 8601 datetime (a naive one is taken as UTC). ValueError if malformed."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return (parsed - _EPOCH) // timedelta(microseconds=1)


def read_row(runs_dir: str, run_id: str,
             is_live: Callable[[str, dict[str, Any]], bool] = lambda run_id, writers: run_is_alive(writers)) \
        -> Row | str | None:
    """The run's row; a signature string when the folder exists but cannot be listed; None when it is gone.
    ``is_live(run_id, writers)`` judges a running run (the store's rule: leases, else writer processes)."""
    folder = f"{runs_dir}/{run_id}"  # plain strings: a cold build does this 100,000 times
    path = f"{folder}/{METADATA_FILENAME}"
    try:
        st, read = read_if_changed(path, None)  # never through a link, never blocking on a fifo, exact size
    except OSError:
        return folder_signature(folder)
    sig = signature(st)
    data = read or b""
    try:
        doc = parse_metadata(data, Path(path))
    except CorruptRunError as exc:
        log.info("run index: skipping %s: %s", run_id, exc)
        return sig
    if doc["run_id"] != run_id:
        log.info("run index: skipping %s: its metadata.json names run %r", run_id, doc["run_id"])
        return sig
    timestamp = doc.get("timestamp")
    try:
        ts_us = timestamp_us(timestamp) if isinstance(timestamp, str) else 0
    except (ValueError, OverflowError):
        ts_us = 0  # listed, as the oldest: an odd timestamp must not hide a run
    disk_status = str(doc["status"])
    writers = _writers_of(doc) if disk_status == runformat.RUNNING else None
    status = disk_status
    if writers is not None and not is_live(run_id, writers):
        status = runformat.INTERRUPTED
    doc["status"] = status
    fields = runfields.listed(doc)
    return Row(
        run_id=run_id,
        ts_us=ts_us,
        config_name=str(doc.get("config_name")),
        user_id=str(doc.get("user_id")),
        status=status,
        disk_status=disk_status,
        writers=json.dumps(writers) if writers is not None else None,
        sig=sig,
        summary=json.dumps(runformat.summarize(doc), ensure_ascii=False),
        kind=fields["kind"],
        session_id=fields["session_id"],
        device_id=fields["device_id"],
        tags=json.dumps(fields["tags"], ensure_ascii=False),
    )


def _writers_of(doc: dict[str, Any]) -> dict[str, Any]:
    """The part of a run's metadata that ``run_is_alive`` judges: every recorded writer, not only the last."""
    return {"owner": doc.get("owner"), "writers": doc.get("writers")}


def folder_signature(folder: str | Path) -> str | None:
    """A signature for a folder without a readable metadata.json, or None if the folder is gone."""
    try:
        st = os.stat(folder, follow_symlinks=False)
    except OSError:
        return None
    return "folder:" + signature(st)


def metadata_signature(runs_dir: str, run_id: str) -> str | None:
    """The signature of a run's metadata.json, or None if it cannot be stat'ed."""
    try:
        # Plain strings: this runs for every checked run on every refresh, and pathlib would double its cost.
        st = os.stat(f"{runs_dir}/{run_id}/{METADATA_FILENAME}", follow_symlinks=False)
    except OSError:
        return None
    return signature(st)
