"""A lease renewal never deadlocks with a commit of the same run: both take the run's row first.

The order matters. A renewal that wrote the writer's lease row first and reached the run's row only afterwards (a
foreign-key check, then the run's lease end) held the lease row while it waited for the run's row; a commit holds
the run's row and renews the same writer's lease in its round trip, so it waited for the lease row: PostgreSQL
found the deadlock and aborted one of them -- a save_entity failing with a StorageError, or a lease that lapsed.
This test stages exactly that interleaving: the renewal waits while a transaction holds the row, then that
transaction commits with the writer's lease."""

from __future__ import annotations

import threading

import psycopg

from pipeline_recorder import LivePipelineRecorder
from pipeline_recorder.naming import new_run_id
from pipeline_recorder.stores.shared import SharedStore
from support import wait_until


def _waiting_for_a_lock(database_url: str) -> bool:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                           "WHERE NOT l.granted AND a.datname = current_database()").fetchone()
    return bool(row and row[0])


def test_a_renewal_waiting_for_the_run_does_not_deadlock_with_its_commit(shared: SharedStore) -> None:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=shared)
    rec.save_entity("input", "Ein kleiner Hund")  # running: the writer holds a lease, renewed by every commit
    holder = shared._writer_id  # the lease this process's commits renew, as its lease keeper renews it
    errors: list[BaseException] = []

    def renew() -> None:
        try:
            shared.renew_lease(rec.run_id, holder, 30)
        except BaseException as exc:
            errors.append(exc)

    writer = shared.writer(rec.run_id)
    renewal = threading.Thread(target=renew)
    try:
        with writer.transaction() as txn:  # holds the run's row
            renewal.start()
            wait_until(lambda: _waiting_for_a_lock(shared.config.database_url), 30,
                       "the renewal to wait for the run")
            assert txn.document is not None
            txn.document.header["current_state"]["step"] = "while a renewal waits"
            txn.document.header["revision"] += 1
            txn.replace_document()  # the commit renews the same writer's lease in its round trip
    finally:
        renewal.join(60)
        writer.close()
    assert not renewal.is_alive()
    assert errors == []
    assert shared.read_metadata(rec.run_id)["current_state"]["step"] == "while a renewal waits"


def test_the_leases_verdict_read_with_the_run_follows_every_change_of_a_lease(shared: SharedStore) -> None:
    # Judging a running run uses the verdict its row's read brought (no second query); a lease that changes in
    # between must never be judged by the verdict of before.
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=shared)
    shared.renew_lease(rec.run_id, "remote-writer", 30)
    assert shared.read_metadata(rec.run_id)["status"] == "running"
    shared.release_lease(rec.run_id, "remote-writer")
    assert shared.read_metadata(rec.run_id)["status"] == "interrupted"  # every lease ended
    doc = shared.read_metadata(rec.run_id)
    shared.renew_lease(rec.run_id, "remote-writer", 30)
    assert shared.apply_liveness(rec.run_id, {**doc, "status": "running"})["status"] == "running"
    shared.release_lease(rec.run_id, "remote-writer")
    assert shared.apply_liveness(rec.run_id, {**doc, "status": "running"})["status"] == "interrupted"
