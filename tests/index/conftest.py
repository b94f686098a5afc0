"""Fixtures of the run index tests: an empty store and an index over it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline_recorder import RunStore
from pipeline_recorder.index import RunIndex


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    store = RunStore(tmp_path)
    store.runs_dir.mkdir(parents=True)
    return store


@pytest.fixture(params=["inotify", "mtime"])
def index(request: pytest.FixtureRequest, store: RunStore) -> Iterator[RunIndex]:
    """An index that learns of new and deleted folders from inotify, or (as on other systems) from the runs dir's
    mtime: both must list the same."""
    with RunIndex(store, inotify=request.param == "inotify") as index:
        yield index

