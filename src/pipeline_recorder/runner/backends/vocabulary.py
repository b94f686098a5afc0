"""The small vocabularies of the embedded backend: German words it translates, English words it varies.

The word lists themselves are data, in ``vocabulary.json`` beside this module; here is what each is for.
"""

from __future__ import annotations

import json
from pathlib import Path

_DATA = json.loads((Path(__file__).with_name("vocabulary.json")).read_text(encoding="utf-8"))

# German -> English, lowercase, umlauts spelled out as in the text (both "über" and "ueber" are looked up).
# Inflected forms are found by their stem (blauen -> blau, Häuser -> haus + plural); nouns are kept apart, since
# only a noun with a plural ending is made plural in English.
GERMAN_NOUNS: dict[str, str] = _DATA["german_nouns"]

GERMAN_WORDS: dict[str, str] = _DATA["german_words"]

# Verbs in the infinitive (and the plural, which is the same): "Die Katzen schlafen".
GERMAN_VERBS: dict[str, str] = _DATA["german_verbs"]

GERMAN_TO_ENGLISH: dict[str, str] = {**GERMAN_WORDS, **GERMAN_VERBS, **GERMAN_NOUNS}
NOUNS = frozenset(GERMAN_NOUNS)
# English plurals that do not just add "s".
PLURALS = {"child": "children", "man": "men", "woman": "women", "mouse": "mice", "fish": "fish", "sheep": "sheep",
           "deer": "deer", "leaf": "leaves", "wolf": "wolves", "city": "cities", "story": "stories",
           "family": "families",
           "bus": "buses", "fox": "foxes", "bench": "benches", "princess": "princesses", "butterfly": "butterflies",
           "sky": "skies", "strawberry": "strawberries", "glass": "glasses", "beach": "beaches", "church": "churches"}

# Words that mark a text as German even when they are short (they are not English words).
GERMAN_MARKERS = frozenset({"der", "die", "das", "und", "ein", "eine", "ist", "sind", "mit", "im", "auf", "nicht",
                            "ich", "wir", "sehr", "über", "für", "hallo"})

# English word -> words the telephone game may hear instead. Deterministic choice per iteration.
ENGLISH_VARIANTS: dict[str, tuple[str, ...]] = {word: tuple(heard) for word, heard in
                                                 _DATA["english_variants"].items()}

COLOURS: dict[str, tuple[int, int, int]] = {name: (rgb[0], rgb[1], rgb[2]) for name, rgb in _DATA["colours"].items()}

# The colours a described picture is painted in (COLOURS also names things of a colour: sky, forest, ...).
PAINT_COLOURS: tuple[str, ...] = ("red", "crimson", "pink", "orange", "yellow", "green", "emerald", "blue", "azure",
                                  "teal", "purple", "brown", "gold", "grey", "white", "soft blue", "pale green")
