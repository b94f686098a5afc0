"""The folder index's full-text search: both ways of answering (few runs walked, many runs by FTS5 key) give
exactly the listing's order and pages, ties of one microsecond included, checked against a brute-force oracle."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from index_helpers import edit_metadata, ids, write_run

from pipeline_recorder import RunStore
from pipeline_recorder.index import RunIndex, search

WORDS = ["hund", "katze", "maus", "vogel", "fisch", "hummel"]


def texted_run(runs_dir: Path, run_id: str, text: str, **options: Any) -> None:
    folder = write_run(runs_dir, run_id, entities=1, **options)
    (folder / "01_input.txt").write_text(text, encoding="utf-8")


def all_pages(index: RunIndex, **filters: Any) -> list[str]:
    listed: list[str] = []
    cursor = None
    while True:
        page, cursor = index.query(cursor=cursor, limit=3, **filters)
        listed += ids(page)
        if cursor is None:
            return listed


@pytest.mark.parametrize("few_runs", [1, 10**6])  # always by FTS5 key / always by walking the runs
def test_search_pages_are_the_listing_order_with_ties_for_either_way(store: RunStore, index: RunIndex,
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     few_runs: int) -> None:
    monkeypatch.setattr(search, "FEW_RUNS", few_runs)
    rng = random.Random(5)
    texts: dict[str, str] = {}
    for n in range(40):
        run_id = f"run-{rng.getrandbits(32):08x}"
        # Few distinct timestamps: many runs share a microsecond, and arrive in no particular run-id order.
        stamp = f"2025-11-0{1 + n % 3}T10:00:00.000000+00:00"
        texts[run_id] = " ".join(rng.sample(WORDS, 3))
        texted_run(store.runs_dir, run_id, texts[run_id], timestamp=stamp, user_id=f"u{n % 4}")
    for q, filters in (("hu", {}), ("katze", {}), ("maus vogel", {}), ("hu", {"user_id": "u1"}), ("nix", {})):
        expected = [run_id for run_id in all_pages(index, **filters)
                    if all(any(word.startswith(part) for word in texts[run_id].split()) for part in q.split())]
        assert all_pages(index, q=q, **filters) == expected, (q, filters)


def test_a_run_whose_texts_change_out_of_band_is_found_by_its_new_words(store: RunStore, index: RunIndex) -> None:
    texted_run(store.runs_dir, "r1", "alte Worte")
    assert ids(index.query(q="alte")[0]) == ["r1"]
    (store.runs_dir / "r1" / "01_input.txt").write_text("neue Worte", encoding="utf-8")
    edit_metadata(store.runs_dir / "r1", timestamp="2025-12-01T00:00:00+00:00")  # a repair rewrote the run
    index.note("r1")
    assert ids(index.query(q="alte")[0]) == []
    assert ids(index.query(q="neue")[0]) == ["r1"]


def test_a_text_file_that_is_a_link_is_not_read(store: RunStore, index: RunIndex, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("geheim", encoding="utf-8")
    texted_run(store.runs_dir, "r1", "harmlos")
    (store.runs_dir / "r1" / "01_input.txt").unlink()
    (store.runs_dir / "r1" / "01_input.txt").symlink_to(secret)
    assert ids(index.query(q="geheim")[0]) == []
    assert ids(index.query()[0]) == ["r1"]  # still listed


def test_runs_of_one_microsecond_take_the_next_slots_and_a_run_twice_in_a_batch_is_stored_once() -> None:
    import sqlite3

    conn = sqlite3.connect(":memory:")
    for statement in search.SQLITE_SCHEMA:
        conn.execute(statement)
    search.sqlite_store_words(conn, [("a", 7, "eins"), ("b", 7, "zwei"), ("a", 7, "eins drei"), ("c", 8, "vier")])
    rows = conn.execute("SELECT key, run, words FROM run_words ORDER BY key").fetchall()
    slots = search.KEY_SLOTS
    assert rows == [(7 * slots, "a", "eins drei"), (7 * slots + 1, "b", "zwei"), (8 * slots, "c", "vier")]
    assert [r[0] for r in conn.execute("SELECT rowid FROM run_words_fts WHERE run_words_fts MATCH 'drei'")] == \
        [7 * slots]
    search.sqlite_store_words(conn, [("b", 9, "zwei")])  # its timestamp changed: a key of its new microsecond
    assert conn.execute("SELECT key FROM run_words WHERE run = 'b'").fetchone() == (9 * slots,)
