from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline_recorder.registry import clear_registry
from store_backends import any_store  # noqa: F401 -- research exports work on every store

# The HTTP tests' real servers (tests/http/http_servers.py) and the CLI tests' subprocess runner
# (tests/cli/cli_harness.py) serve here too.
sys.path[:0] = [str(Path(__file__).resolve().parents[1] / name) for name in ("http", "cli")]


@pytest.fixture(autouse=True)
def _fresh_registry() -> Iterator[None]:
    clear_registry()
    yield
    clear_registry()
