"""Safety checks: the §86a StGB table of stage 1, the per-level filter of stage 3, and failing closed."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline_recorder.runner.safety import SHIPPED_TERMS, TermLists, check_level, check_stgb86a, parse_judgement

BLOCKED = False
PASSES = True

# (input, expected verdict of the §86a check at level "kids"): harmful and harmless, with disguises.
STGB86A_TABLE = [
    ("Sieg Heil", BLOCKED),
    ("sieg heil!", BLOCKED),
    ("SIEG HEIL", BLOCKED),
    ("S i e g   H e i l", BLOCKED),
    ("s.i.e.g h.e.i.l", BLOCKED),
    ("Sieg-Heil", BLOCKED),
    ("SiegHeil", BLOCKED),
    ("S13G H31L", BLOCKED),
    ("ｓｉｅｇ ｈｅｉｌ", BLOCKED),
    ("Sieg\u200bHeil", BLOCKED),
    ("Heil Hitler", BLOCKED),
    ("H3il H1tl3r", BLOCKED),
    ("Meine Ehre heißt Treue", BLOCKED),
    ("meine ehre heisst treue", BLOCKED),
    ("Alles für Deutschland", BLOCKED),
    ("alles fuer deutschland", BLOCKED),
    ("Deutschland erwache!", BLOCKED),
    ("Blut und Ehre", BLOCKED),
    ("a flag with a swastika", BLOCKED),
    ("Ein Hakenkreuz an der Wand", BLOCKED),
    ("haken kreuz", BLOCKED),
    ("draw the 卐 symbol", BLOCKED),
    ("ϟϟ", BLOCKED),
    ("two sig runes on a helmet", BLOCKED),
    ("members of the Waffen-SS", BLOCKED),
    ("Combat 18", BLOCKED),
    ("88", BLOCKED),
    ("Heil 88", BLOCKED),
    ("HH 88", BLOCKED),
    ("H e i l  8 8", BLOCKED),
    ("8 8", BLOCKED),
    ("14/88", BLOCKED),
    ("14 88", BLOCKED),
    ("1488", BLOCKED),
    ("Viele Grüße, 88", BLOCKED),
    ("adolf18", BLOCKED),
    ("Hitler 18", BLOCKED),
    ("18", BLOCKED),
    ("28 honour", BLOCKED),
    ("198 sieg", BLOCKED),
    # harmless: ordinary numbers, history words without symbols, similar-looking words
    ("88 keys on a piano", PASSES),
    ("The piano has 88 keys, 52 white and 36 black", PASSES),
    ("I turned 18 today", PASSES),
    ("February has 28 days", PASSES),
    ("Treffen um 18 Uhr. Gruß, Anna", PASSES),
    ("Bus line 88 goes to the zoo", PASSES),
    ("In 1488 the town got its charter", PASSES),
    ("page 14 of 88", PASSES),
    ("a 1 8 piece puzzle", PASSES),
    ("Ein kleiner Hund spielt im Garten", PASSES),
    ("A small dog plays in the garden", PASSES),
    ("Test input", PASSES),
    ("The siege of the castle lasted weeks", PASSES),
    ("Heilbronn is a city in Germany", PASSES),
    ("heil dich schnell, kleiner Vogel", PASSES),
    ("We won! Sieg for our football team", PASSES),
    ("U18 football team wins the cup", PASSES),
    ("a red cross on a white flag", PASSES),
    ("we in the garden", PASSES),
    ("Hakuna matata", PASSES),
    ("", PASSES),
]


@pytest.mark.parametrize(("text", "expected"), STGB86A_TABLE, ids=[repr(t)[:40] for t, _ in STGB86A_TABLE])
def test_stgb86a_verdict_matches_the_table(text: str, expected: bool) -> None:
    verdict = check_stgb86a(text, "kids")
    assert verdict.safe is expected, verdict.to_entity()
    assert bool(verdict.codes) is (not expected)


def test_the_table_holds_at_least_forty_inputs_both_harmful_and_harmless() -> None:
    assert len(STGB86A_TABLE) >= 40
    assert sum(1 for _, safe in STGB86A_TABLE if safe) >= 15
    assert sum(1 for _, safe in STGB86A_TABLE if not safe) >= 15


@pytest.mark.parametrize("level", ["kids", "youth", "adult"])
def test_stgb86a_applies_at_every_level_but_off(level: str) -> None:
    assert check_stgb86a("Sieg Heil", level).safe is False
    off = check_stgb86a("Sieg Heil", "off")
    assert off.safe is True and off.checks == []


def test_a_blocking_verdict_names_codes_and_the_matched_term() -> None:
    entity = check_stgb86a("Heil 88", "kids").to_entity()
    assert entity["safe"] is False
    assert entity["codes"] == ["stgb86a:number_code"]
    assert entity["matches"][0]["term"] == "88"
    assert "Heil Hitler" in entity["matches"][0]["meaning"]


LEVEL_TABLE = [
    ("a bloody knife attack", {"kids": False, "youth": True, "adult": True}),
    ("a glass of wine at dinner", {"kids": False, "youth": True, "adult": True}),
    ("a nude painting in a museum", {"kids": False, "youth": False, "adult": True}),
    ("a gory zombie movie", {"kids": False, "youth": False, "adult": True}),
    ("child porn", {"kids": False, "youth": False, "adult": False}),
    ("a happy dog in the garden", {"kids": True, "youth": True, "adult": True}),
    ("the skill of the painter", {"kids": True, "youth": True, "adult": True}),
    ("die gleichen Leute", {"kids": True, "youth": True, "adult": True}),
]


@pytest.mark.parametrize(("text", "expected"), LEVEL_TABLE, ids=[t for t, _ in LEVEL_TABLE])
def test_level_filter_is_strictest_for_kids(text: str, expected: dict[str, bool]) -> None:
    for level, safe in expected.items():
        assert check_level(text, level).safe is safe, (level, check_level(text, level).to_entity())
    assert check_level(text, "off").safe is True


def test_an_unreadable_term_list_blocks_instead_of_letting_text_through(tmp_path: Path) -> None:
    missing = TermLists(tmp_path)  # an empty folder: no term lists at all
    assert check_stgb86a("a small dog", "kids", missing).safe is False
    assert check_stgb86a("a small dog", "kids", missing).codes == ["undecided"]
    assert check_level("a small dog", "kids", missing).codes == ["undecided"]


def test_a_malformed_term_list_blocks(tmp_path: Path) -> None:
    (tmp_path / "stgb86a.json").write_text('{"slogans": "not a list"}', encoding="utf-8")
    (tmp_path / "kids.txt").write_text("# only a comment\n", encoding="utf-8")
    broken = TermLists(tmp_path)
    assert check_stgb86a("hello", "kids", broken).codes == ["undecided"]
    assert check_level("hello", "kids", broken).codes == ["undecided"]


def test_the_shipped_term_lists_are_data_files_that_load() -> None:
    assert len(SHIPPED_TERMS.level("kids")) > 20
    assert "88" in SHIPPED_TERMS.stgb86a().number_codes


@pytest.mark.parametrize(("answer", "safe", "undecided"), [
    ("SAFE", True, False), ("safe.", True, False), ("UNSAFE: violence", False, False),
    ("I think it is fine", False, True), ("", False, True), ("SAFE? UNSAFE", False, True),
])
def test_a_model_judgement_that_cannot_be_parsed_fails_closed(answer: str, safe: bool, undecided: bool) -> None:
    verdict = parse_judgement(answer, "kids", "judge:test")
    assert verdict.safe is safe
    assert verdict.undecided is undecided
