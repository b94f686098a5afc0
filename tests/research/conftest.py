from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline_recorder.registry import clear_registry
from store_backends import any_store  # noqa: F401 -- research exports work on every store

# The HTTP tests' real servers (tests/http/http_servers.py) serve the export route here too.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "http"))


@pytest.fixture(autouse=True)
def _fresh_registry() -> Iterator[None]:
    clear_registry()
    yield
    clear_registry()
