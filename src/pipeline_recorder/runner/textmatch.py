"""Matching terms in text so that case, diacritics, spacing and digit-for-letter spelling do not hide them.

Text and terms go through the same normalisation: compatibility decomposition (fullwidth letters become plain),
diacritics and invisible characters dropped, case folded (``ß`` -> ``ss``), German ``ae``/``oe``/``ue`` folded like
``ä``/``ö``/``ü``, punctuation turned into spaces and letters split from digits. Digit-for-letter spelling is
undone in a second and third reading (``1`` read as ``i`` and as ``l``). A term matches when its words appear as
consecutive tokens, or when its letters without spaces equal consecutive tokens glued together (``s i e g h e i l``,
``sieg-heil``, ``SiegHeil``); gluing is only trusted for single letters or for terms of at least 6 letters, so that
``we in`` never reads as ``wein``.

>>> TermMatcher(["sieg heil"]).find("S-1-E-G  H3IL!")
['sieg heil']
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Digits and signs that stand in for letters. "1" is both i and l, so each text is read twice.
_LEET_COMMON = {"0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "9": "g", "@": "a", "$": "s", "€": "e"}
_LEET_READINGS = ({**_LEET_COMMON, "1": "i"}, {**_LEET_COMMON, "1": "l"})
_UMLAUT_SPELLINGS = (("ae", "a"), ("oe", "o"), ("ue", "u"))
_TOKEN = re.compile(r"[^\W\d_]+|\d+")
MAX_TERM_WORDS = 8
MAX_GLUED_LETTERS = 48
MIN_GLUED_LETTERS = 6


def fold(text: str) -> str:
    """Case, compatibility forms, diacritics and invisible characters folded away; punctuation kept."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(ch for ch in decomposed if unicodedata.category(ch) not in ("Mn", "Me", "Cf"))
    return kept.casefold()


def _fold_umlauts(token: str) -> str:
    for spelled, plain in _UMLAUT_SPELLINGS:
        token = token.replace(spelled, plain)
    return token


def tokens(text: str) -> list[str]:
    """Words and numbers of folded text, letters split from digits (``skin88`` -> ``skin``, ``88``)."""
    return [_fold_umlauts(token) for token in _TOKEN.findall(fold(text))]


def spaced_out_joined(words: list[str]) -> list[str]:
    """Runs of single characters glued back into words (``8 8`` -> ``88``, ``h e i l`` -> ``heil``)."""
    joined: list[str] = []
    run: list[str] = []
    for word in [*words, ""]:
        if len(word) == 1:
            run.append(word)
            continue
        if len(run) > 1:
            joined.extend(_TOKEN.findall("".join(run)))
        else:
            joined.extend(run)
        run = []
        if word:
            joined.append(word)
    return joined


def readings(text: str) -> list[list[str]]:
    """The token lists a text can be read as: as written, and with digits read as the letters they stand for."""
    folded = fold(text)
    found = [tokens(folded)]
    for table in _LEET_READINGS:
        mapped = "".join(table.get(ch, ch) for ch in folded)
        if mapped != folded:
            found.append(tokens(mapped))
    return found


def term_key(term: str) -> tuple[str, str]:
    """``(spaced, glued)`` forms of a term, normalised like text: ``("sieg heil", "siegheil")``."""
    words = tokens(term)
    return " ".join(words), "".join(words)


def _spans(words: list[str]) -> tuple[set[str], set[str]]:
    """Every run of consecutive tokens, as spaced text and (where gluing is trusted) glued text."""
    spaced: set[str] = set()
    glued: set[str] = set()
    for start in range(len(words)):
        parts: list[str] = []
        letters = 0
        all_single = True
        for word in words[start:]:
            parts.append(word)
            letters += len(word)
            all_single = all_single and len(word) == 1
            if len(parts) > MAX_TERM_WORDS and letters > MAX_GLUED_LETTERS:
                break
            if len(parts) <= MAX_TERM_WORDS:
                spaced.add(" ".join(parts))
            joined = "".join(parts)
            if len(parts) == 1 or letters >= MIN_GLUED_LETTERS or all_single:
                glued.add(joined)
            if letters > MAX_GLUED_LETTERS:
                break
    return spaced, glued


class TermMatcher:
    """Finds which of a fixed list of terms occur in a text, however the text disguises them."""

    def __init__(self, terms: Iterable[str]) -> None:
        self._terms: list[tuple[str, str, str]] = []
        for term in terms:
            spaced, glued = term_key(term)
            if glued:
                self._terms.append((term, spaced, glued))

    def __len__(self) -> int:
        return len(self._terms)

    def find(self, text: str) -> list[str]:
        """The terms found in ``text``, in list order, each once."""
        spaced_spans: set[str] = set()
        glued_spans: set[str] = set()
        for words in readings(text):
            spaced, glued = _spans(words)
            spaced_spans |= spaced
            glued_spans |= glued
        return [term for term, spaced, glued in self._terms if spaced in spaced_spans or glued in glued_spans]
