"""Helpers of the core tests: what a run looks like on disk, tree snapshots, polling with a deadline."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from pipeline_recorder import runformat
from pipeline_recorder.naming import parse_entity_filename


def snapshot(root: Path) -> dict[str, tuple[str, int, int]]:
    """Every path under ``root`` with its kind, size and mtime: two equal snapshots mean nothing was written."""
    found: dict[str, tuple[str, int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            st = path.lstat()
            kind = "dir" if path.is_dir() else "file"
            found[str(path.relative_to(root))] = (kind, st.st_size if kind == "file" else 0, st.st_mtime_ns)
    return found


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_run(folder: Path) -> dict[str, Any]:
    """Assert the promises of DESIGN.md section 2 for one run folder; return its parsed metadata.json.

    metadata.json parses and follows the format; every listed entity exists with its listed size and hash;
    sequences are unique and contiguous from 1; filenames are f"{sequence:02d}_{type}.{ext}".
    """
    doc = json.loads((folder / "metadata.json").read_bytes())
    assert runformat.problems(doc, folder.name) == []
    sequences = [entity["sequence"] for entity in doc["entities"]]
    assert sequences == list(range(1, len(sequences) + 1))
    for entity in doc["entities"]:
        parsed = parse_entity_filename(entity["filename"])
        assert parsed is not None and parsed[:2] == (entity["sequence"], entity["type"])
        assert entity["filename"].startswith(f"{entity['sequence']:02d}_")
        path = folder / entity["filename"]
        assert path.is_file(), f"listed entity {entity['filename']} is missing"
        assert path.stat().st_size == entity["size"]
        assert sha256_of(path) == entity["sha256"]
    return doc


def temp_files(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.startswith(".tmp-"))


def entity_files(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if parse_entity_filename(name) is not None)


WORKERS = Path(__file__).with_name("core_workers.py")


def spawn(*args: object) -> subprocess.Popen[str]:
    """Start ``core_workers.py`` with these arguments; stdin and stdout are text pipes."""
    return subprocess.Popen([sys.executable, str(WORKERS), *map(str, args)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)


def read_json_line(proc: subprocess.Popen[str]) -> Any:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, f"worker exited early with {proc.wait()}"
    return json.loads(line)
