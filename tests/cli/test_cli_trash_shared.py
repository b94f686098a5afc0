"""`delete`, `trash`, `restore` and gc's emptying of the trash on the shared store (`--store s3://... --database
postgresql://...`), run as a user runs them, against real PostgreSQL and moto_server on loopback."""

from __future__ import annotations

import json

from test_cli_shared_store import Shared, _run, shared

__all__ = ["shared"]  # the fixture, shared with the other shared-store CLI tests


def test_delete_restore_and_gc_empty_the_trash_of_the_shared_store(shared: Shared) -> None:
    rec, other = _run(shared.store), _run(shared.store)
    before = shared.store.read_metadata(rec.run_id)
    deleted = shared.cli("delete", rec.run_id[:8])
    assert deleted.code == 0, deleted.text
    assert json.loads(shared.cli("ls", "--json").out)[0]["run_id"] == other.run_id
    assert len(json.loads(shared.cli("ls", "--json").out)) == 1
    assert rec.run_id in shared.cli("trash").out
    restored = shared.cli("restore", rec.run_id[:8])
    assert restored.code == 0, restored.text
    assert shared.store.read_metadata(rec.run_id) == before

    assert shared.cli("delete", rec.run_id).code == 0
    dry = shared.cli("gc", "--trash-older-than", "0s")
    assert f"would delete {rec.run_id} from the trash" in dry.out, dry.text
    assert [t.run_id for t in shared.store.trashed_runs()] == [rec.run_id]
    done = shared.cli("gc", "--trash-older-than", "0s", "--delete", "--json")
    assert done.code == 0, done.text
    assert json.loads(done.out)["purged"] == [rec.run_id]
    assert list(shared.store.trashed_runs()) == []
    assert shared.cli("restore", rec.run_id).code == 3
    assert shared.store.read_metadata(other.run_id)["status"] == "completed"
