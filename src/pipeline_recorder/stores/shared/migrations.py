"""The shared store's database schema, created and changed only by numbered migrations, in order, once each.

``migrate(conn)`` brings a database to the newest version in one transaction: it takes a transaction-level advisory
lock (so replicas that start at once migrate one after the other, and the later ones find nothing to do), reads the
versions already applied from ``schema_migrations``, and applies each missing one together with its row in that
table. PostgreSQL's DDL is transactional, so a failed migration leaves the database as it was. A database that
records a version this code does not know was migrated by newer code: it is refused rather than used with a
schema we cannot read.

Migrations are never edited once released; a change is a new migration at the end of ``MIGRATIONS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from ...errors import StorageError

# Any fixed number: the key of the advisory lock that serialises migrations (its value is ours alone by convention).
_MIGRATION_LOCK = 0x70726563  # "prec"


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sql: str


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "runs, entities, leases, the store's identity", """
        -- Which bucket and prefix this database coordinates: one database, one store.
        CREATE TABLE store_identity (
            singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
            bucket text NOT NULL,
            prefix text NOT NULL
        );
        -- One row per run: its document's header as written (JSON text: key order kept), the listing columns, and
        -- the ETag of the metadata.json last put in the bucket (the next put is conditional on it).
        CREATE TABLE runs (
            run_id text PRIMARY KEY,
            ts_us bigint NOT NULL,
            config_name text NOT NULL,
            execution_mode text NOT NULL,
            safety_level text NOT NULL,
            user_id text NOT NULL,
            status text NOT NULL,
            revision bigint NOT NULL,
            entity_count integer NOT NULL DEFAULT 0,
            header text NOT NULL,
            summary text NOT NULL,
            metadata_etag text,
            lease_expires_at timestamptz,
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX runs_newest ON runs (ts_us DESC, run_id DESC);
        CREATE INDEX runs_by_config ON runs (config_name, ts_us DESC, run_id DESC);
        CREATE INDEX runs_by_user ON runs (user_id, ts_us DESC, run_id DESC);
        CREATE INDEX runs_by_status ON runs (status, ts_us DESC, run_id DESC);
        -- The entity records of each run, as the JSON fragments metadata.json holds (byte for byte). The primary
        -- key is the sequence claim: no two writers anywhere can commit one sequence twice.
        CREATE TABLE entities (
            run_id text NOT NULL REFERENCES runs ON DELETE CASCADE,
            sequence integer NOT NULL CHECK (sequence > 0),
            revision bigint NOT NULL,
            entity_type text NOT NULL,
            filename text NOT NULL,
            record text NOT NULL,
            PRIMARY KEY (run_id, sequence)
        );
        -- Liveness: each writer of a running run holds a lease it renews; all expired means interrupted.
        CREATE TABLE leases (
            run_id text NOT NULL REFERENCES runs ON DELETE CASCADE,
            writer_id text NOT NULL,
            expires_at timestamptz NOT NULL,
            PRIMARY KEY (run_id, writer_id)
        );
    """),
    Migration(2, "the research fields' listing columns: kind, session_id, device_id, tags", """
        -- Filled from each run's stored header (a run written before the fields existed gets the defaults);
        -- every later commit sets them with the rest of the row (runs.py).
        ALTER TABLE runs ADD COLUMN kind text NOT NULL DEFAULT 'pipeline',
                         ADD COLUMN session_id text,
                         ADD COLUMN device_id text,
                         ADD COLUMN tags jsonb NOT NULL DEFAULT '[]';
        UPDATE runs SET kind = coalesce(header::jsonb ->> 'kind', 'pipeline'),
                        session_id = header::jsonb ->> 'session_id',
                        device_id = header::jsonb ->> 'device_id',
                        tags = CASE WHEN jsonb_typeof(header::jsonb -> 'tags') = 'array'
                                    THEN header::jsonb -> 'tags' ELSE '[]' END
            WHERE header <> '{}';
        CREATE INDEX runs_by_kind ON runs (kind, ts_us DESC, run_id DESC);
        CREATE INDEX runs_by_session ON runs (session_id, ts_us DESC, run_id DESC) WHERE session_id IS NOT NULL;
        CREATE INDEX runs_by_device ON runs (device_id, ts_us DESC, run_id DESC) WHERE device_id IS NOT NULL;
        CREATE INDEX runs_by_tag ON runs USING gin (tags);
    """),
)

LATEST_VERSION = MIGRATIONS[-1].version


class SchemaTooNewError(StorageError):
    """The database was migrated by a newer version of pipeline-recorder."""


def applied_versions(conn: psycopg.Connection[Any]) -> list[int]:
    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return []
    return [int(row[0]) for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]


def migrate(conn: psycopg.Connection[Any], migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
    """Apply the migrations the database lacks, in order; the versions applied now (empty: it was up to date).
    ``conn`` must not be inside a transaction."""
    applied_now: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (
                            version integer PRIMARY KEY,
                            description text NOT NULL,
                            applied_at timestamptz NOT NULL DEFAULT now())""")
        done = set(applied_versions(conn))
        known = {migration.version for migration in migrations}
        unknown = sorted(done - known)
        if unknown:
            raise SchemaTooNewError(0, f"the database has schema version {unknown[-1]}, newer than this "
                                       f"pipeline-recorder knows ({max(known)}): upgrade pipeline-recorder")
        for migration in sorted(migrations, key=lambda m: m.version):
            if migration.version in done:
                continue
            with conn.transaction():  # a savepoint: a failing migration names itself in the error
                conn.execute(migration.sql.encode())
                conn.execute("INSERT INTO schema_migrations (version, description) VALUES (%s, %s)",
                             (migration.version, migration.description))
            applied_now.append(migration.version)
    return applied_now
