"""The database schema is the project's: created and migrated by numbered migrations, once each."""

from __future__ import annotations

import threading

import psycopg
import pytest

from pipeline_recorder.errors import StorageError, ValidationError
from pipeline_recorder.stores.shared import SharedStore, parse_store_url
from pipeline_recorder.stores.shared.database import Database
from pipeline_recorder.stores.shared.migrations import LATEST_VERSION, MIGRATIONS, Migration, migrate


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}


def test_a_fresh_database_is_migrated_to_the_latest_version_once(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert migrate(conn) == [m.version for m in MIGRATIONS]
        assert migrate(conn) == []
        versions = [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == list(range(1, LATEST_VERSION + 1))
    assert {"runs", "entities", "leases", "store_identity", "schema_migrations"} <= _tables(database_url)


def test_replicas_starting_at_once_migrate_the_database_exactly_once(database_url: str) -> None:
    applied: list[list[int]] = []

    def start() -> None:
        with psycopg.connect(database_url, autocommit=True) as conn:
            applied.append(migrate(conn))

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(applied, key=len) == [[]] * 5 + [[m.version for m in MIGRATIONS]]


def test_a_failing_migration_leaves_the_database_as_it_was(database_url: str) -> None:
    broken = (*MIGRATIONS, Migration(LATEST_VERSION + 1, "broken", "CREATE TABLE extra (x int); SELECT 1/0;"))
    with psycopg.connect(database_url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.DivisionByZero):
            migrate(conn, broken)
        assert "extra" not in _tables(database_url) and "runs" not in _tables(database_url)
        assert migrate(conn) == [m.version for m in MIGRATIONS]


def test_a_database_migrated_by_newer_code_is_refused(database_url: str, store_url: str) -> None:
    newer = (*MIGRATIONS, Migration(LATEST_VERSION + 1, "from the future", "CREATE TABLE later (x int)"))
    with psycopg.connect(database_url, autocommit=True) as conn:
        migrate(conn, newer)
    with pytest.raises(StorageError, match=f"schema version {LATEST_VERSION + 1}.*upgrade pipeline-recorder"):
        SharedStore.open(store_url, database_url)


def test_one_database_coordinates_one_store(shared: SharedStore, s3, database_url: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    closed: list[Database] = []
    close = Database.close
    monkeypatch.setattr(Database, "close", lambda db: (closed.append(db), close(db))[1])
    with pytest.raises(ValidationError, match="use one database per shared store"):
        SharedStore.open(f"s3://{s3.new_bucket()}/elsewhere", database_url)
    # The refused store closed the connection pool it had opened (else its threads live on until a GC finds it).
    assert len(closed) == 1


@pytest.mark.parametrize(("url", "message"), [
    ("s3://ab/x", "not a valid S3 bucket name"),
    ("s3://Bucket/x", "not a valid S3 bucket name"),
    ("s3://bucket-name/a/../b", "each part must be"),
    ("s3://user:pw@bucket-name/x", "no credentials"),
    ("s3://bucket-name/x?region=eu", "no credentials, port or query"),
    ("/some/folder", "not of the form s3://bucket/prefix"),
])
def test_malformed_store_urls_are_refused_saying_what_is_accepted(url: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_store_url(url, "postgresql://localhost/x")


def test_the_database_url_comes_from_the_environment_and_must_be_a_libpq_url(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIPELINE_RECORDER_DATABASE_URL", raising=False)
    with pytest.raises(ValidationError, match="PIPELINE_RECORDER_DATABASE_URL"):
        parse_store_url("s3://bucket-name/lab")
    monkeypatch.setenv("PIPELINE_RECORDER_DATABASE_URL", "postgresql://db.example/recorder")
    config = parse_store_url("s3://bucket-name/lab/2025/")
    assert (config.bucket, config.prefix, config.runs_prefix) == ("bucket-name", "lab/2025", "lab/2025/pipeline_runs")
    with pytest.raises(ValidationError, match=r"libpq URL.*\*\*\*@"):
        parse_store_url("s3://bucket-name/lab", "mysql://user:secret@db/x")
