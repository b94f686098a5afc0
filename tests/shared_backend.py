"""The shared store as an entry of the Store contract suite (tests/store_backends.py), and the servers behind it.

One PostgreSQL cluster and one moto_server per test process, started on first use on loopback and stopped by pid
when the process exits; each test gets a fresh bucket and a fresh database. While a store is open, the standard
AWS_* variables and PIPELINE_RECORDER_DATABASE_URL name them, so the worker processes a test starts open the same
store with ``open_store(store.url)``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg

from pipeline_recorder.stores import Store
from pipeline_recorder.stores.shared import DATABASE_URL_ENV, SharedStore
from shared_servers import MotoS3, Postgres, running_moto, running_postgres

_lock = threading.Lock()
_servers: dict[str, object] = {}
_stack = contextlib.ExitStack()
atexit.register(_stack.close)


def servers() -> tuple[Postgres, MotoS3]:
    """The process's PostgreSQL cluster and moto_server (started on the first call)."""
    with _lock:
        if not _servers:
            _servers["postgres"] = _stack.enter_context(running_postgres())
            _servers["s3"] = _stack.enter_context(running_moto())
    postgres, s3 = _servers["postgres"], _servers["s3"]
    assert isinstance(postgres, Postgres) and isinstance(s3, MotoS3)
    return postgres, s3


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def shared_store(tmp_path: Path) -> Iterator[Store]:
    """A fresh shared store (new bucket, new database) for one test."""
    postgres, s3 = servers()
    database = postgres.new_database()
    with environment({**s3.env(), DATABASE_URL_ENV: database}):
        store = SharedStore.open(f"s3://{s3.new_bucket()}/contract", database)
        try:
            yield store
        finally:
            store.close()


def waits_for_lock(store: SharedStore, pid: int) -> bool:
    """Whether a connection of process ``pid`` waits for a lock in the store's database (its connections name
    their process in ``application_name``)."""
    with psycopg.connect(store.config.database_url) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
                           "AND wait_event_type = 'Lock'", (f"pipeline-recorder {pid}",)).fetchone()
    return bool(row and row[0])


def open_sessions(store: SharedStore, pid: int) -> list[str]:
    """The state of each session process ``pid`` still has in the store's database (its pool's connections and
    its listener name their process in ``application_name``). A session outlives its process for a moment: the
    server finishes or rolls back what the process sent before it died."""
    with psycopg.connect(store.config.database_url) as conn:
        rows = conn.execute("SELECT coalesce(state, '') FROM pg_stat_activity WHERE application_name = %s "
                            "OR application_name = %s", (f"pipeline-recorder {pid}",
                                                         f"pipeline-recorder {pid} listen")).fetchall()
    return [str(state) for (state,) in rows]
