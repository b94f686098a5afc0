"""Migration 5 gives the runs of a database made before it the research fields' listing columns, filled from
each run's stored header (defaults for a run written before the fields existed)."""

from __future__ import annotations

import json

import psycopg

from pipeline_recorder.stores.shared.migrations import MIGRATIONS, migrate


def _insert(conn: psycopg.Connection[object], run_id: str, header: dict[str, object]) -> None:
    conn.execute("""INSERT INTO runs (run_id, ts_us, config_name, execution_mode, safety_level, user_id, status,
                                      revision, header, summary)
                    VALUES (%s, 1, 'c', 'eco', 'kids', 'u', 'completed', 1, %s, '{}')""",
                 (run_id, json.dumps(header)))


def test_migration_5_fills_the_listing_columns_from_the_stored_headers(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert migrate(conn, MIGRATIONS[:4]) == [1, 2, 3, 4]
        _insert(conn, "old", {"run_id": "old", "status": "completed"})
        _insert(conn, "new", {"run_id": "new", "kind": "latent_lab", "session_id": "s1", "device_id": "d1",
                              "tags": ["zoo", "dogs"]})
        assert migrate(conn) == [5]
        rows = {row[0]: row[1:] for row in conn.execute(
            "SELECT run_id, kind, session_id, device_id, tags FROM runs")}
        found = conn.execute("SELECT run_id FROM runs WHERE tags @> jsonb_build_array(%s::text)",
                             ("dogs",)).fetchall()
    assert rows == {"old": ("pipeline", None, None, []), "new": ("latent_lab", "s1", "d1", ["zoo", "dogs"])}
    assert found == [("new",)]
