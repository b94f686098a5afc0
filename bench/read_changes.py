"""Benchmark: what a reader of a changing run (the recorder seeing another writer's change, the change feed, the
/status cache) spends on each new version of metadata.json -- reading it and parsing it -- as the run grows.

For runs of 10, 1,000 and 10,000 entities, each round writes a new version (one entity appended, the header
changed: what a save does; untimed) and then times, on the same file, in alternating order:

- whole: ``read_if_changed`` + ``parse_metadata``, the full parse every reader did before (the baseline);
- incremental: ``read_if_changed`` + ``parse_metadata_since`` from the parse of the version before;
- and for the /status cache, which also digests the bytes for the ETag: ``Documents.snapshot`` (incremental parse,
  extended hash) against the whole parse + blake2b of the whole file it did before.

    .venv/bin/python bench/read_changes.py                # 10, 1,000 and 10,000 entities, 200 changes each
    .venv/bin/python bench/read_changes.py --changes 50   # quicker

Target: the incremental read at 10,000 entities within ~2-3x of the one at 10; the whole parse is the baseline.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from pipeline_recorder import RunStore
from pipeline_recorder.document import MetadataDocument, parse_metadata, parse_metadata_since
from pipeline_recorder.document.version import read_if_changed
from pipeline_recorder.http.documents import Documents
from pipeline_recorder.naming import METADATA_FILENAME, entity_filename
from pipeline_recorder.runformat import new_header

SIZES = (10, 1_000, 10_000)


def record(sequence: int, revision: int) -> dict[str, Any]:
    """An entity record as the recorder writes one (about 330 bytes)."""
    return {"sequence": sequence, "type": "translation", "filename": entity_filename(sequence, "translation", "txt"),
            "timestamp": "2026-01-01T00:00:00.000000+00:00", "metadata": {"stage": 2, "model": "m-small"},
            "size": 66, "sha256": "ab" * 32, "mime_type": "text/plain", "revision": revision}


def write(path: Path, doc: MetadataDocument) -> None:
    tmp = path.with_name(".tmp-metadata.json")
    with open(tmp, "wb") as f:
        for chunk in doc.chunks():
            f.write(chunk)
    os.replace(tmp, path)


def measure(folder: Path, size: int, changes: int) -> tuple[float, float, float, float, int]:
    """Median seconds per change (whole, incremental, /status whole, /status incremental) and the file size.

    Each round writes the run at ``size`` entities and lets the incremental readers parse it (untimed), then writes
    the next version, one entity appended, and times the readers on it: every change timed is the one from ``size``
    to ``size + 1`` entities, however many rounds run."""
    header = new_header(run_id="20260101_000000_abcd1234", config_name="c", execution_mode="m", safety_level="s",
                        user_id="u", expected_outputs=["translation"], owner={"pid": 1, "host": "h", "started": 1.0})
    before = MetadataDocument(header, [record(n, 1) for n in range(1, size + 1)])
    after = MetadataDocument(dict(header, revision=2), [*before.entities, record(size + 1, 2)])
    store = RunStore(folder / str(size))
    path = store.run_folder(header["run_id"]) / METADATA_FILENAME
    path.parent.mkdir(parents=True)
    documents = Documents(store)
    whole: list[float] = []
    incremental: list[float] = []
    status_whole: list[float] = []
    status_incremental: list[float] = []
    for change in range(changes):
        write(path, before)
        previous = parse_metadata_since(read_if_changed(path, None)[1] or b"", path, None)
        documents.snapshot(header["run_id"])
        write(path, after)
        for which in ((0, 1) if change % 2 else (1, 0)):
            start = time.perf_counter()
            _, data = read_if_changed(path, None)
            assert data is not None
            if which == 0:
                parse_metadata(data, path)
                whole.append(time.perf_counter() - start)
            else:
                parsed = parse_metadata_since(data, path, previous)
                incremental.append(time.perf_counter() - start)
                assert parsed.shared == size
                # Untimed: the last round's documents are freed here, not inside the next round's timing (a reader
                # that keeps up frees nothing: a new version shares the records of the one before).
                parsed = previous = None  # type: ignore[assignment]
        for which in ((0, 1) if change % 2 else (1, 0)):
            start = time.perf_counter()
            if which == 0:
                _, data = read_if_changed(path, None)
                assert data is not None
                parse_metadata(data, path)
                hashlib.blake2b(data, digest_size=12).hexdigest()
                status_whole.append(time.perf_counter() - start)
            else:
                assert documents.snapshot(header["run_id"]).parsed.shared == size
                status_incremental.append(time.perf_counter() - start)
    return (statistics.median(whole), statistics.median(incremental), statistics.median(status_whole),
            statistics.median(status_incremental), path.stat().st_size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=200, help="changes timed per run size (default 200)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="read-changes-") as tmp:
        rows = [(size, *measure(Path(tmp), size, args.changes)) for size in SIZES]
    print(f"per-change cost of a new version of metadata.json, median of {args.changes} changes")
    print(f"{'':>18} {'read + parse':^45} {'/status cache (+ ETag digest)':^45}")
    columns = f" {'whole ms':>9} {'incr. ms':>9} {'whole/incr':>11} {'incr/@10':>13}"
    print(f"{'entities':>9} {'file KB':>8}" + columns * 2)
    for size, whole, incremental, status_whole, status_incremental, file_size in rows:
        line = f"{size:>9,} {file_size / 1024:>8.0f}"
        for full, incr, base in ((whole, incremental, rows[0][2]), (status_whole, status_incremental, rows[0][4])):
            line += f" {full * 1e3:>9.3f} {incr * 1e3:>9.3f} {full / incr:>10.1f}x {incr / base:>12.2f}x"
        print(line)


if __name__ == "__main__":
    main()
