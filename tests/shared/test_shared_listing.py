"""The shared store lists runs with the same answers as the folder store's SQLite index over the same runs."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from shared_helpers import download

from pipeline_recorder import LivePipelineRecorder
from pipeline_recorder.errors import ValidationError
from pipeline_recorder.index import RunIndex
from pipeline_recorder.naming import new_run_id
from pipeline_recorder.stores import FolderStore
from pipeline_recorder.stores.shared import SharedStore
from support import wait_until

CONFIGS = ("stillepost", "haiku", "klangbild")
USERS = ("anna", "ben")
ENDINGS = ("completed", "failed", "blocked", None)  # None: still running (its writer's lease is alive)


def _all_pages(query, **filters) -> list[list[dict]]:  # type: ignore[no-untyped-def]
    pages, cursor = [], None
    while True:
        page, cursor = query(cursor=cursor, **filters)
        pages.append(page)
        if cursor is None:
            return pages


def test_every_filter_and_page_answers_what_the_sqlite_index_answers_over_the_same_runs(
        shared: SharedStore, tmp_path: Path) -> None:
    recorders = []
    for n, (config, user, ending) in enumerate(itertools.islice(
            itertools.cycle(itertools.product(CONFIGS, USERS, ENDINGS)), 30)):
        rec = LivePipelineRecorder(new_run_id(), config, "eco", "kids", user, base_path=shared)
        rec.save_entity("input", f"run {n}")
        if ending is not None:
            rec.finish(ending)
        recorders.append(rec)
    for rec in recorders:
        download(shared, rec.run_id, tmp_path)
    times = sorted(shared.read_metadata(rec.run_id)["timestamp"] for rec in recorders)

    with RunIndex(FolderStore(tmp_path)) as index:
        questions: list[dict] = [{}, {"config_name": "haiku"}, {"user_id": "ben"}, {"status": "completed"},
                                 {"status": "running"}, {"status": "interrupted"}, {"status": "failed"},
                                 {"since": times[10]}, {"until": times[20]}, {"since": times[5], "until": times[9]},
                                 {"config_name": "stillepost", "user_id": "anna", "status": "blocked"}]
        for filters, limit in itertools.product(questions, (1, 7, 50)):
            expected = _all_pages(index.query, limit=limit, **filters)
            assert _all_pages(shared.run_index().query, limit=limit, **filters) == expected, (filters, limit)
        assert shared.run_index().count() == index.count() == 30


def test_a_running_run_whose_leases_lapsed_is_listed_and_filtered_as_interrupted(store_url: str,
                                                                                 database_url: str) -> None:
    with SharedStore.open(store_url, database_url, lease_seconds=0.5) as store:
        rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=store)
        rec.save_entity("input", "one")
        assert [s["status"] for s in store.run_index().query()[0]] == ["running"]
        rec.close()  # the writer stops (as a dead one does): its lease runs out
        wait_until(lambda: store.run_index().query(status="interrupted")[0], 10, "the run to read interrupted")
        assert store.run_index().query(status="running")[0] == []
        assert store.read_metadata(rec.run_id)["status"] == "interrupted"


def test_bad_filters_are_refused_as_the_folder_index_refuses_them(shared: SharedStore) -> None:
    for filters in ({"status": "sleeping"}, {"limit": 0}, {"limit": 201}, {"since": "yesterday"},
                    {"cursor": "not-a-cursor"}, {"config_name": ""}):
        with pytest.raises(ValidationError):
            shared.run_index().query(**filters)
