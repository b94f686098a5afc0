"""A run that verify --repair rebuilt shows in the listing at once, not only when the index comes round to it."""

from pathlib import Path

import pytest

from pipeline_recorder import LivePipelineRecorder, RunStore
from pipeline_recorder.index import RunIndex, schema
from pipeline_recorder.index import freshness as index_module
from pipeline_recorder.ops import repair


def corrupt_runs(base: Path, *run_ids: str) -> None:
    for run_id in run_ids:
        rec = LivePipelineRecorder(run_id, "stillepost", "eco", "kids", base_path=base)
        rec.save_entity("input", "Hallo")
        rec.mark_complete()
        (rec.run_folder / "metadata.json").write_bytes(b'{"run_id": "torn')


def test_a_rebuilt_run_is_listed_by_the_next_query(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # One unlistable run rechecked per query (256 in production): with three of them the index would come round to
    # the repaired one only two queries later; the note from repair must make that wait unnecessary.
    monkeypatch.setattr(index_module, "SKIPPED_BATCH", 1)
    corrupt_runs(tmp_path, "run-a", "run-b", "run-c")
    store = RunStore(tmp_path)
    with RunIndex(store) as index:
        assert index.query() == ([], None)
        result = repair.repair_run(store, "run-a")
        assert any(action.startswith("rebuilt metadata.json") for action in result.actions)
        [listed] = index.query()[0]
        # Its status was lost with the file: a rebuilt run without one reads as interrupted.
        assert (listed["run_id"], listed["status"], listed["entity_count"]) == ("run-a", "interrupted", 1)


def test_repair_creates_no_index_in_a_store_that_has_none(tmp_path: Path) -> None:
    corrupt_runs(tmp_path, "run-a")
    store = RunStore(tmp_path)
    repair.repair_run(store, "run-a")
    assert not (store.runs_dir / schema.INDEX_DIRNAME).exists()
    with RunIndex(store) as index:
        assert [run["run_id"] for run in index.query()[0]] == ["run-a"]
