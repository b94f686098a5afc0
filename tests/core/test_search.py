"""Full-text search of the listing (``q``): the same answers from both stores (``any_store``)."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline_recorder import LivePipelineRecorder, new_run_id
from pipeline_recorder.errors import ValidationError
from pipeline_recorder.index import search
from pipeline_recorder.stores import FolderStore, Store


def recorded(store: Store, *texts: tuple[str, Any], config_name: str = "stillepost") -> str:
    rec = LivePipelineRecorder(new_run_id(), config_name, "eco", "kids", base_path=store)
    for entity_type, content in texts:
        rec.save_entity(entity_type, content)
    rec.mark_complete()
    return rec.run_id


def found(store: Store, q: str, **filters: Any) -> set[str]:
    if isinstance(store, FolderStore):
        store.run_index().refresh()
    runs, _ = store.run_index().query(q=q, **filters)
    return {run["run_id"] for run in runs}


def test_a_run_is_found_by_the_words_of_its_input_and_text_outputs(any_store: Store) -> None:
    dog = recorded(any_store, ("input", "Ein kleiner Hund bellt"), ("interception", "A tiny dog barks\nloudly"))
    cat = recorded(any_store, ("input", "Eine Katze schläft"), ("translation", "A cat sleeps"))
    assert found(any_store, "hund") == {dog}
    assert found(any_store, "loudly") == {dog}  # a later line of a text output
    assert found(any_store, "HUN") == {dog}  # a word start, any case
    assert found(any_store, "schlaft") == {cat} == found(any_store, "SCHLÄFT")  # accents do not matter
    assert found(any_store, "a") == {dog, cat}
    assert found(any_store, "hund katze") == set()  # every word must be there
    assert found(any_store, "bellt, kleiner!") == {dog}  # in any order, punctuation ignored


def test_json_entities_and_settings_are_not_searched(any_store: Store) -> None:
    recorded(any_store, ("input", "Ein Vogel"), ("safety", {"verdict": "zebra"}))
    assert found(any_store, "zebra") == set()
    assert found(any_store, "stillepost") == set()


def test_search_combines_with_the_other_filters_and_pages(any_store: Store) -> None:
    runs = [recorded(any_store, ("input", f"Baum Nummer {n}"), config_name="haiku" if n % 2 else "stillepost")
            for n in range(5)]
    recorded(any_store, ("input", "Blume"), config_name="haiku")
    assert found(any_store, "baum", config_name="haiku") == {runs[1], runs[3]}
    first, cursor = any_store.run_index().query(q="baum", limit=2)
    assert cursor is not None
    rest, end = any_store.run_index().query(q="baum", limit=10, cursor=cursor)
    assert end is None
    assert [r["run_id"] for r in first + rest] == list(reversed(runs))  # newest first, each once


def test_a_deleted_run_is_no_longer_found(any_store: Store) -> None:
    gone = recorded(any_store, ("input", "Regenbogen"))
    assert found(any_store, "regenbogen") == {gone}
    any_store.delete_run(gone)
    assert found(any_store, "regenbogen") == set()


def test_text_saved_while_a_run_runs_is_found(any_store: Store) -> None:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=any_store)
    rec.save_entity("input", "Leuchtturm")
    assert found(any_store, "leuchtturm") == {rec.run_id}
    rec.save_entity("interception", "lighthouse")
    assert found(any_store, "lighthouse") == {rec.run_id}
    assert found(any_store, "leuchtturm lighthouse") == {rec.run_id}


@pytest.mark.parametrize(("q", "why"), [("   ", "no word"), ("!?-", "no word"), ("x" * 201, "at most 200"),
                                        (" ".join(f"w{n}" for n in range(17)), "at most 16"),
                                        ('"hund" OR *', None)])
def test_a_query_without_words_or_too_long_is_refused_and_syntax_is_only_words(any_store: Store, q: str,
                                                                                why: str | None) -> None:
    dog = recorded(any_store, ("input", "Hund OR Katze"))
    if why is None:  # FTS and tsquery syntax are plain words here: "hund OR" finds runs with both words
        assert found(any_store, q) == {dog}
        return
    with pytest.raises(ValidationError, match=why):
        found(any_store, q)


def test_words_are_letters_and_digits_casefolded_without_accents() -> None:
    assert search.words("Straße_Nr.12 Ærø MÜLLER") == ["strasse", "nr", "12", "ærø", "muller"]
    assert search.sqlite_match("Hund  hund katze") == '"hund"* AND "katze"*'
    assert search.postgres_tsquery("Hund katze") == "'hund':* & 'katze':*"
