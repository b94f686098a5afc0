"""The shared store's trash: a run's row moves from ``runs`` to ``trashed_runs`` in one database transaction.

Every replica lists and reads runs from ``runs``, so the commit that moves the row is the moment the run vanishes
from every listing and read route at once, everywhere; the commit that moves it back restores it. Its objects stay
where they are in the bucket (copying them would cost a copy per entity, and S3 copies no object over 5 GB in one
request); ``trashed_runs`` keeps the run's metadata.json as it was and its leases (so a restored interrupted run
still reads interrupted). The id stays taken while the run is in the trash: ``create_run`` refuses it.

A purge marks the row ``purging`` first (committed: from then on no restore), deletes the run's objects, then the
row; a stop halfway leaves a ``purging`` row that the next purge (``gc``) finishes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ...document import MetadataDocument, parse_metadata
from ...errors import CorruptRunError, RunNotFoundError
from ..trash_errors import already_trashed, exists_outside_trash
from ..values import Judge, TrashedRun, trashed_view
from .database import CHANNEL

if TYPE_CHECKING:
    import psycopg

    from .runs import Row
    from .store import SharedStore


def in_trash(store: SharedStore, run_id: str) -> bool:
    with store.db.connection(f"look for run {run_id!r} in the trash") as conn:
        return conn.execute("SELECT 1 FROM trashed_runs WHERE run_id = %s", (run_id,)).fetchone() is not None


def trash_run(store: SharedStore, run_id: str, may_trash: Judge | None) -> bool:
    def move(conn: psycopg.Connection[Any], row: Row) -> None:
        moved = conn.execute(
            """INSERT INTO trashed_runs (run_id, document, leases) VALUES (%s, %s, %s)
               ON CONFLICT (run_id) DO NOTHING RETURNING run_id""",
            (run_id, row.doc.to_bytes(), json.dumps(store.runs.leases_in(conn, run_id)))).fetchone()
        if moved is None:
            raise already_trashed(run_id)
        conn.execute("DELETE FROM runs WHERE run_id = %s", (run_id,))  # its entities and leases go with it
        conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"{run_id} {row.revision + 1}"))

    return store.remove_judged(run_id, f"move run {run_id!r} to the trash", may_trash, move)


def restore_run(store: SharedStore, run_id: str) -> None:
    entry = store.runs.entry(run_id)
    with entry.lock, store.db.connection(f"restore run {run_id!r}") as conn, conn.transaction():
        found = conn.execute("SELECT document, leases FROM trashed_runs WHERE run_id = %s AND NOT purging "
                             "FOR UPDATE", (run_id,)).fetchone()
        if found is None:
            raise RunNotFoundError(f"run {run_id!r} is not in the trash of {store.url}")
        data, leases = bytes(found[0]), json.loads(found[1])
        try:
            doc = MetadataDocument.from_dict(json.loads(data))
        except ValueError as exc:
            raise CorruptRunError(f"run {run_id!r}: its document in the trash is not valid JSON") from exc
        conn.execute("DELETE FROM trashed_runs WHERE run_id = %s", (run_id,))
        if not store.runs.insert(conn, run_id, doc):
            raise exists_outside_trash(run_id)
        for holder, ends in leases.items():
            conn.execute("INSERT INTO leases (run_id, writer_id, expires_at) VALUES (%s, %s, to_timestamp(%s))",
                         (run_id, holder, float(ends)))
        if leases:
            conn.execute("""UPDATE runs SET lease_expires_at = (SELECT max(expires_at) FROM leases
                                                                 WHERE leases.run_id = runs.run_id)
                            WHERE run_id = %s""", (run_id,))
    store.runs.forget(run_id)


def trashed_runs(store: SharedStore) -> Iterator[TrashedRun]:
    with store.db.connection("list the trash") as conn:
        rows = conn.execute("SELECT run_id, extract(epoch FROM trashed_at), purging, document "
                            "FROM trashed_runs").fetchall()
    for run_id, trashed_at, purging, data in rows:
        doc: dict[str, Any] | None
        try:
            doc = trashed_view(parse_metadata(bytes(data), f"{store.location(run_id)} (in the trash)"))
        except CorruptRunError:
            doc = None
        yield TrashedRun(str(run_id), float(trashed_at), doc, bool(purging))


def purge_trashed(store: SharedStore, run_id: str) -> bool:
    with store.db.connection(f"purge run {run_id!r} from the trash") as conn:
        with conn.transaction():
            if conn.execute("UPDATE trashed_runs SET purging = true WHERE run_id = %s RETURNING run_id",
                            (run_id,)).fetchone() is None:
                return False
        store.runs.delete_objects(run_id)
        with conn.transaction():
            conn.execute("DELETE FROM trashed_runs WHERE run_id = %s", (run_id,))
    return True
