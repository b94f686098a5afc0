"""Listing through the run index: order, filters, pagination and cursors, and bad parameters."""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from index_helpers import ids, write_run

from pipeline_recorder import LivePipelineRecorder, RunStore, ValidationError, new_run_id
from pipeline_recorder.index import MAX_LIMIT, SUMMARY_KEYS, RunIndex, freshness, iter_all
from pipeline_recorder.naming import METADATA_FILENAME


def ts(second: int) -> str:
    return f"2025-11-04T20:12:{second:02d}.000000+00:00"


def test_listing_is_newest_first_with_the_run_id_breaking_ties(store: RunStore, index: RunIndex) -> None:
    write_run(store.runs_dir, "b-old", timestamp=ts(1))
    write_run(store.runs_dir, "a-same", timestamp=ts(5))
    write_run(store.runs_dir, "c-same", timestamp=ts(5))
    write_run(store.runs_dir, "z-new", timestamp=ts(9))
    page, cursor = index.query()
    assert ids(page) == ["z-new", "c-same", "a-same", "b-old"]
    assert cursor is None


def test_timestamps_with_other_offsets_are_ordered_by_their_instant(store: RunStore, index: RunIndex) -> None:
    write_run(store.runs_dir, "utc-later", timestamp="2025-11-04T20:30:00+00:00")
    write_run(store.runs_dir, "berlin-earlier", timestamp="2025-11-04T21:10:00+01:00")  # 20:10 UTC
    assert ids(index.query()[0]) == ["utc-later", "berlin-earlier"]


def test_summary_has_exactly_the_agreed_keys_and_values(tmp_path, store: RunStore, index: RunIndex) -> None:
    rec = LivePipelineRecorder("run-1", "stillepost", "fast", "youth", user_id="alice", base_path=tmp_path)
    rec.save_entity("input", "Hallo")
    rec.set_state(1, "translation_and_safety")
    rec.save_entity("translation", "Hello")
    rec.mark_complete()
    status = rec.get_status()
    [summary], _ = index.query()
    assert tuple(summary) == SUMMARY_KEYS
    assert summary == {
        "run_id": "run-1", "config_name": "stillepost", "execution_mode": "fast", "safety_level": "youth",
        "user_id": "alice", "status": "completed", "timestamp": status["timestamp"],
        "updated_at": status["updated_at"], "finished_at": status["finished_at"],
        "kind": "pipeline", "session_id": None, "device_id": None, "tags": [],
        "current_state": status["current_state"], "progress": "2/6", "entity_count": 2,
    }


def test_each_filter_returns_exactly_the_matching_runs(store: RunStore, index: RunIndex) -> None:
    for n in range(12):
        write_run(store.runs_dir, f"run-{n:02d}", timestamp=ts(n), config_name=f"config-{n % 3}",
                  user_id=f"user-{n % 2}", status=["completed", "failed", "blocked", "cancelled"][n % 4])
    everything, _ = index.query(limit=MAX_LIMIT)
    assert len(everything) == 12

    def expected(predicate) -> list[str]:
        return [run["run_id"] for run in everything if predicate(run)]

    assert ids(index.query(config_name="config-1")[0]) == expected(lambda r: r["config_name"] == "config-1")
    assert ids(index.query(user_id="user-0")[0]) == expected(lambda r: r["user_id"] == "user-0")
    assert ids(index.query(status="failed")[0]) == expected(lambda r: r["status"] == "failed")
    assert ids(index.query(config_name="config-0", user_id="user-1")[0]) == expected(
        lambda r: r["config_name"] == "config-0" and r["user_id"] == "user-1")
    assert ids(index.query(status="running")[0]) == []
    assert ids(index.query(config_name="no-such-config")[0]) == []


def test_since_is_inclusive_and_until_exclusive(store: RunStore, index: RunIndex) -> None:
    for second in (10, 20, 30, 40):
        write_run(store.runs_dir, f"at-{second}", timestamp=ts(second))
    assert ids(index.query(since=ts(20), until=ts(40))[0]) == ["at-30", "at-20"]
    assert ids(index.query(since="2025-11-04T21:12:30+01:00")[0]) == ["at-40", "at-30"]
    assert ids(index.query(until=datetime(2025, 11, 4, 20, 12, 20, tzinfo=UTC))[0]) == ["at-10"]
    assert ids(index.query(since="2025-11-04T20:12:35")[0]) == ["at-40"]  # no offset: UTC


def test_pages_follow_each_other_without_gaps_or_repeats_under_a_filter(store: RunStore, index: RunIndex) -> None:
    for n in range(25):
        write_run(store.runs_dir, f"run-{n:02d}", timestamp=ts(n // 2), user_id="alice" if n % 3 else "bob")
    full = ids(index.query(user_id="alice", limit=MAX_LIMIT)[0])
    walked, cursor, pages = [], None, 0
    while True:
        page, cursor = index.query(user_id="alice", limit=4, cursor=cursor)
        walked += ids(page)
        pages += 1
        assert len(page) <= 4
        if cursor is None:
            break
    assert walked == full
    assert pages == -(-len(full) // 4)
    assert [run["run_id"] for run in iter_all(index, user_id="alice")] == full


def test_a_cursor_stays_valid_when_newer_and_older_runs_are_added(store: RunStore, index: RunIndex) -> None:
    for n in range(10, 20):
        write_run(store.runs_dir, f"run-{n}", timestamp=ts(n))
    first, cursor = index.query(limit=5)
    assert ids(first) == [f"run-{n}" for n in range(19, 14, -1)]
    write_run(store.runs_dir, "newer", timestamp=ts(50))
    write_run(store.runs_dir, "between", timestamp=ts(12).replace(".000000", ".500000"))
    second, cursor = index.query(limit=5, cursor=cursor)
    assert ids(second) == ["run-14", "run-13", "between", "run-12", "run-11"]
    third, cursor = index.query(limit=5, cursor=cursor)
    assert ids(third) == ["run-10"]
    assert cursor is None


def test_an_exact_last_page_has_no_next_cursor(store: RunStore, index: RunIndex) -> None:
    for n in range(4):
        write_run(store.runs_dir, f"run-{n}", timestamp=ts(n))
    page, cursor = index.query(limit=2)
    page, cursor = index.query(limit=2, cursor=cursor)
    assert ids(page) == ["run-1", "run-0"]
    assert cursor is None


def _cursor(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


@pytest.mark.parametrize("cursor", [
    "", "not a cursor!", "%%%", "abc", _cursor({"ts": 1}), _cursor([2, 1, "run"]), _cursor([1, "1", "run"]),
    _cursor([1, 1, "../etc"]), _cursor([1, True, "run"]), _cursor([1, 2**70, "run"]), "A" * 1000,
])
def test_a_malformed_cursor_is_refused_with_a_clear_error(index: RunIndex, cursor: str) -> None:
    with pytest.raises(ValidationError, match=r"malformed cursor.*next_cursor of a previous listing"):
        index.query(cursor=cursor)


@pytest.mark.parametrize("limit", [0, -1, MAX_LIMIT + 1, "ten", True, 2.5, None])
def test_a_limit_outside_1_to_200_is_refused(index: RunIndex, limit: object) -> None:
    with pytest.raises(ValidationError, match="limit must be an integer from 1 to 200"):
        index.query(limit=limit)  # type: ignore[arg-type]


def test_a_limit_given_as_digits_is_accepted(store: RunStore, index: RunIndex) -> None:
    write_run(store.runs_dir, "run-1")
    assert ids(index.query(limit="200")[0]) == ["run-1"]  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["since", "until"])
@pytest.mark.parametrize("value", ["yesterday", "2025-13-01T00:00:00+00:00", "", 12345])
def test_a_malformed_time_bound_is_refused(index: RunIndex, name: str, value: object) -> None:
    with pytest.raises(ValidationError, match=f"{name} .* is not an ISO 8601 datetime"):
        index.query(**{name: value})


@pytest.mark.parametrize(("name", "value", "message"), [
    ("status", "done", "status filter 'done' is not one of"),
    ("config_name", "", "config_name filter must be a non-empty string"),
    ("user_id", "x" * 201, "user_id filter must be a non-empty string"),
    ("user_id", 7, "user_id filter must be a non-empty string"),
])
def test_a_malformed_filter_is_refused(index: RunIndex, name: str, value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        index.query(**{name: value})


def test_a_parameter_the_listing_does_not_have_is_a_type_error_naming_it(index: RunIndex) -> None:
    with pytest.raises(TypeError, match="no parameter colour"):
        index.query(colour="red")  # type: ignore[call-arg]


def test_a_store_without_a_runs_folder_lists_nothing_and_creates_nothing(tmp_path) -> None:
    store = RunStore(tmp_path / "empty")
    with RunIndex(store) as index:
        assert index.query() == ([], None)
        assert index.count() == 0
    assert not (tmp_path / "empty").exists()


def _poison(store: RunStore, run_id: str) -> None:
    """A lone surrogate in the run's config_name, spelt as the valid JSON escape an import could bring in."""
    path = store.run_folder(run_id) / METADATA_FILENAME
    data = path.read_bytes()
    assert b'"config_name": "stillepost"' in data
    path.write_bytes(data.replace(b'"config_name": "stillepost"', b'"config_name": "\\ud800"'))


def test_one_run_holding_a_lone_surrogate_is_skipped_and_reported_not_the_runs_beside_it(
        store: RunStore, index: RunIndex) -> None:
    run_ids = sorted(new_run_id() for _ in range(111))
    for run_id in run_ids:
        write_run(store.runs_dir, run_id)
    _poison(store, run_ids[50])
    listed = list(iter_all(index))
    assert sorted(summary["run_id"] for summary in listed) == run_ids[:50] + run_ids[51:]
    assert index.skipped() == [run_ids[50]]
    assert len(list(iter_all(index))) == 110  # and so on every later listing


def test_a_row_the_database_refuses_is_skipped_and_reported_without_losing_its_batch(
        store: RunStore, index: RunIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second guard, behind the format check: should any summary still be refused by SQLite, the rows are
    written one by one and only that one is left out."""
    run_ids = sorted(new_run_id() for _ in range(111))
    for run_id in run_ids:
        write_run(store.runs_dir, run_id)
    real = freshness.read_row

    def poisoned(runs_dir: str, run_id: str, *args: Any) -> Any:
        row = real(runs_dir, run_id, *args)
        return dataclasses.replace(row, summary="\ud800") if run_id == run_ids[7] else row

    monkeypatch.setattr(freshness, "read_row", poisoned)
    assert sorted(summary["run_id"] for summary in iter_all(index)) == run_ids[:7] + run_ids[8:]
    assert index.skipped() == [run_ids[7]]
