from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline_recorder import LivePipelineRecorder, new_run_id
from pipeline_recorder.registry import clear_registry
from store_backends import any_store  # noqa: F401 -- the fixture of the Store contract tests


@pytest.fixture(autouse=True)
def _fresh_registry() -> Iterator[None]:
    clear_registry()
    yield
    clear_registry()


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """A store base path on the same disk as the test's tmp folder."""
    path = tmp_path / "store"
    path.mkdir()
    return path


@pytest.fixture
def rec(base: Path) -> LivePipelineRecorder:
    return LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=base)
