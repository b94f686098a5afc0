"""The embedded backend's haiku: three lines of 5, 7 and 5 syllables made from the text's own words.

The text's words fill the lines in reading order (a line never ends on a little word such as "in" or "the",
which moves on to the next line); what a line still lacks is filled with a short nature phrase, chosen by the
text so the same text gives the same poem. Syllables are counted by vowel groups, with the usual silent final
``e`` — an estimate, but the fillers are chosen so that their count is exact.

>>> print(haiku("A small dog plays in the garden", seed=0))
A small dog plays still
in the garden in the wind
silence after rain
"""

from __future__ import annotations

import re

LINES = (5, 7, 5)
_VOWELS = re.compile(r"[aeiouy]+")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
# Words a line of a poem does not end on: they lead into what follows.
_LEADING = frozenset({"a", "an", "the", "in", "on", "at", "of", "to", "and", "with", "by", "for", "from", "into",
                      "under", "over", "or", "but", "my", "your", "his", "her", "its", "our", "their", "is", "are",
                      "about", "very", "through", "between"})
# Fillers by syllable count; each word is counted right by ``syllables``.
_FILLERS: dict[int, tuple[str, ...]] = {
    1: ("now", "still", "here"),
    2: ("at dawn", "so still", "in rain"),
    3: ("by the lake", "in the wind", "at first light"),
    4: ("without a sound", "under the stars", "in the cold air"),
    5: ("silence after rain", "light on the water", "and the day goes on", "the wind carries it"),
    7: ("the world holds its breath and waits", "a bird sings and then is gone"),
}


def syllables(word: str) -> int:
    """An estimate of the syllables of an English word: vowel groups, less a silent final ``e``; at least 1."""
    word = word.lower().replace("'", "")
    count = len(_VOWELS.findall(word))
    if word.endswith("e") and not word.endswith(("le", "ee", "ye")) and count > 1:
        count -= 1
    return max(1, count)


def _filler(missing: int, seed: int, used: set[str]) -> list[str]:
    """Words of exactly ``missing`` syllables (1 to 7), preferring a phrase whose words the poem has not used."""
    words: list[str] = []
    while missing > 0:
        size = missing if missing in _FILLERS else min(missing, 5)
        choices = _FILLERS[size]
        ordered = [choices[(seed + missing + i) % len(choices)] for i in range(len(choices))]
        phrase = next((p for p in ordered if not used & (set(p.split()) - _LEADING)), ordered[0])
        words.extend(phrase.split())
        used.update(set(phrase.split()) - _LEADING)
        missing -= size
    return words


def haiku(text: str, seed: int) -> str:
    """A 5-7-5 poem from ``text`` (see the module docstring); deterministic in ``text`` and ``seed``."""
    words = [w for w in _WORD.findall(text) if syllables(w) <= max(LINES)]
    lines: list[list[str]] = []
    used = {word.lower() for word in words} - _LEADING
    position = 0
    for target in LINES:
        line: list[str] = []
        count = 0
        while position < len(words) and count + syllables(words[position]) <= target:
            line.append(words[position])
            count += syllables(words[position])
            position += 1
        while line and line[-1].lower() in _LEADING and count < target + 1:
            position -= 1  # "in" moves on to the next line
            count -= syllables(line.pop())
        lines.append(line + _filler(target - count, seed + len(lines), used))
    first = " ".join(lines[0])
    return "\n".join([first[:1].upper() + first[1:], *(" ".join(line) for line in lines[1:])])
