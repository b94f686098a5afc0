"""Fixtures of the shared-store tests: one PostgreSQL cluster and one moto_server per test process (started on
first use, stopped by pid at exit: tests/shared_backend.py), and for each test a fresh bucket and a fresh database,
so tests never see each other's runs. The standard AWS_* variables name the S3 server for the whole session (with
credentials set, the client never asks a cloud metadata service for some)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from shared_helpers import Replica, serving_replicas

from pipeline_recorder.stores.shared import SharedStore
from shared_backend import environment, servers
from shared_servers import MotoS3, Postgres


@pytest.fixture(scope="session")
def postgres() -> Postgres:
    return servers()[0]


@pytest.fixture(scope="session")
def s3() -> Iterator[MotoS3]:
    server = servers()[1]
    with environment(server.env()):
        yield server


@pytest.fixture
def store_url(s3: MotoS3) -> str:
    return f"s3://{s3.new_bucket()}/lab/recordings"


@pytest.fixture
def database_url(postgres: Postgres, monkeypatch: pytest.MonkeyPatch) -> str:
    url = postgres.new_database()
    monkeypatch.setenv("PIPELINE_RECORDER_DATABASE_URL", url)  # what worker processes open the store with
    return url


@pytest.fixture
def shared(store_url: str, database_url: str) -> Iterator[SharedStore]:
    store = SharedStore.open(store_url, database_url)
    try:
        yield store
    finally:
        store.close()




@pytest.fixture
def replicas(store_url: str, database_url: str, tmp_path: Path) -> Iterator[list[Replica]]:
    """Three `serve` replicas on the test's bucket and database."""
    with serving_replicas(store_url, database_url, tmp_path) as started:
        yield started
