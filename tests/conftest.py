"""Fixtures every test folder may use. ``any_store`` runs a test once per store implementation
(tests/store_backends.py lists them; adding one entry there runs the whole contract suite against it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline_recorder.stores import Store
from store_backends import STORE_FACTORIES


@pytest.fixture(params=sorted(STORE_FACTORIES))
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, empty store of each kind in turn."""
    with STORE_FACTORIES[request.param](tmp_path) as store:
        yield store
