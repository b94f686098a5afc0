"""Fixtures of the shared-store tests: one PostgreSQL cluster and one moto_server per test session (started here,
stopped by pid at the end), and for each test a fresh bucket and a fresh database, so tests never see each other's
runs."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from shared_servers import MotoS3, Postgres, running_moto, running_postgres

from pipeline_recorder.stores.shared import SharedStore


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    with running_postgres() as server:
        yield server


@pytest.fixture(scope="session")
def s3() -> Iterator[MotoS3]:
    with running_moto() as server:
        saved = {name: os.environ.get(name) for name in server.env()}
        # The standard AWS variables, as a deployment sets them; with credentials set, the client never asks a
        # cloud metadata service for some.
        os.environ.update(server.env())
        try:
            yield server
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


@pytest.fixture
def store_url(s3: MotoS3) -> str:
    return f"s3://{s3.new_bucket()}/lab/recordings"


@pytest.fixture
def database_url(postgres: Postgres) -> str:
    return postgres.new_database()


@pytest.fixture
def shared(store_url: str, database_url: str) -> Iterator[SharedStore]:
    store = SharedStore.open(store_url, database_url)
    try:
        yield store
    finally:
        store.close()
