"""The embedded backend's text reads as plausible output of each stage: English translations, 5-7-5 haiku."""

from __future__ import annotations

import pytest

from pipeline_recorder.runner.backends import EmbeddedTextBackend

BACKEND = EmbeddedTextBackend()

# German input -> the English a reader expects (hand-written).
TRANSLATIONS = [
    ("Ein rotes Haus am blauen See", "A red house at the blue lake"),
    ("Ein kleiner Hund spielt im Garten", "A small dog plays in the garden"),
    ("Die Sonne scheint über den grünen Wiesen", "The sun shines over the green meadows"),
    ("Drei kleine Katzen schlafen unter dem alten Baum", "Three small cats sleep under the old tree"),
    ("Die Kinder lachen und tanzen im Regen", "The children laugh and dance in the rain"),
    ("Eine Eule sitzt auf dem Baum", "An owl sits on the tree"),
    ("Ich male ein Bild", "I paint a picture"),
    ("Der Mond leuchtet über dem See", "The moon glows over the lake"),
    ("Die Häuser sind alt", "The houses are old"),
    ("Es war einmal ein König in einem großen Schloss", "It was once a king in a big castle"),
]


@pytest.mark.parametrize(("german", "english"), TRANSLATIONS)
def test_german_is_translated_into_english_words_inflections_included(german: str, english: str) -> None:
    result = BACKEND.translate(german)
    assert result.text == english
    assert result.details["untranslated"] == []


# Syllables of every word the poems below may hold, counted by hand (the oracle; not the backend's estimate).
SYLLABLES = {
    "a": 1, "small": 1, "dog": 1, "plays": 1, "in": 1, "the": 1, "garden": 2, "test": 1, "input": 2, "red": 1,
    "house": 1, "at": 1, "blue": 1, "lake": 1, "children": 2, "laugh": 1, "and": 1, "dance": 1, "rain": 1, "an": 1,
    "owl": 1, "sits": 1, "on": 1, "tree": 1, "now": 1, "still": 1, "here": 1, "dawn": 1, "so": 1, "by": 1,
    "wind": 1, "first": 1, "light": 1, "without": 2, "sound": 1, "under": 2, "stars": 1, "cold": 1, "air": 1,
    "silence": 2, "after": 2, "water": 2, "day": 1, "goes": 1, "carries": 2, "it": 1, "world": 1, "holds": 1,
    "its": 1, "breath": 1, "waits": 1, "bird": 1, "sings": 1, "then": 1, "is": 1, "gone": 1, "run": 1, "aaa": 1,
    "of": 1, "twenty": 2, "hello": 2,
}


@pytest.mark.parametrize("text", ["A small dog plays in the garden", "Test input", "A red house at the blue lake",
                                  "The children laugh and dance in the rain", "An owl sits on the tree",
                                  "Run aaa of twenty", "Hello world"])
@pytest.mark.parametrize("iteration", [0, 1, 2])
def test_a_haiku_has_three_lines_of_five_seven_and_five_syllables(text: str, iteration: int) -> None:
    poem = BACKEND.transform(text, instruction="", style="haiku", iteration=iteration).text
    lines = poem.split("\n")
    assert len(lines) == 3, poem
    counts = [sum(SYLLABLES[word.lower()] for word in line.split()) for line in lines]
    assert counts == [5, 7, 5], poem


def test_a_haiku_keeps_the_texts_words_in_order_and_is_deterministic() -> None:
    poem = BACKEND.transform("A small dog plays in the garden", instruction="", style="haiku", iteration=0).text
    words = poem.replace("\n", " ").lower().split()
    assert [w for w in words if w in {"small", "dog", "plays", "garden"}] == ["small", "dog", "plays", "garden"]
    again = BACKEND.transform("A small dog plays in the garden", instruction="", style="haiku", iteration=0).text
    assert again == poem


@pytest.mark.parametrize(("style", "start"), [("describe", "A picture of a red house at the blue lake, painted in "),
                                              ("sound", "melody on ")])
def test_descriptions_embed_the_text_as_part_of_one_english_sentence(style: str, start: str) -> None:
    out = BACKEND.transform("A red house at the blue lake.", instruction="", style=style, iteration=0).text
    assert start in out and out.endswith(".") and ".," not in out and ": " not in out


def test_a_described_picture_is_painted_in_two_different_colours() -> None:
    for text in ("A red house", "Test input", "A small dog", "The moon", "Hello world", "A tree"):
        out = BACKEND.transform(text, instruction="", style="describe", iteration=0).text
        colours = out.split("painted in ", 1)[1].split(", with", 1)[0].split(" and ")
        assert len(colours) == 2 and colours[0] != colours[1], out
        assert not {"night", "sky", "sea", "forest", "garden", "snow"} & set(colours), out
