"""Finding terms in text however the text disguises them: look-alike letters, spacing, gluing and misspellings.

Text and terms are read the same way (``textfold``: confusables skeleton, digit-for-letter readings, numbers
written as words, one canonical spelling per word). A term then matches when

- its words appear as consecutive tokens, or its letters without spaces equal consecutive tokens glued together
  (``s i e g h e i l``, ``sieg-heil``, ``SiegHeil``); gluing is only trusted for single letters or for terms of at
  least 6 letters, so that ``we in`` never reads as ``wein``;
- or it is misspelt by one letter (dropped, added, changed or two swapped, as measured by rapidfuzz's optimal
  string alignment distance), within limits that keep ordinary words out: a one-word term needs 8 letters or
  more, the same first letter and a text word of about its length (``swastka``, ``Hakenkrez``); in a term of
  several words one word of 6 letters or more may be misspelt this way while the others match exactly
  (``Heil Hitlr``), and words of 4 or 5 letters only by two swapped letters. ``white tower`` is not
  ``white power``, ``Sigrun`` is a name, not ``Sigrune``.

>>> TermMatcher(["sieg heil"]).find("S-1-E-G  H3IL!")
['sieg heil']
>>> TermMatcher(["heil hitler"]).find("Heil Hitlr")
['heil hitler']
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz.distance import OSA

from .textfold import canonical, readings, tokens

MAX_TERM_WORDS = 8
MAX_GLUED_LETTERS = 48
MIN_GLUED_LETTERS = 6
MIN_FUZZY_TERM = 8  # letters of a one-word term before a misspelling of it is recognised
MIN_FUZZY_WORD = 6  # letters of a word in a longer term before any misspelling of it is recognised
_TOKEN = re.compile(r"[^\W\d_]+|\d+")


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


def term_words(term: str) -> list[str]:
    """A term's words in canonical form, as text is read."""
    return [canonical(word) for word in tokens(term)]


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


def _near(word: str, term: str, *, min_letters: int) -> bool:
    """``word`` is ``term`` misspelt by one letter, within the limits of the module docstring."""
    if word == term:
        return True
    if word[:1] != term[:1] or abs(len(word) - len(term)) > 1:
        return False
    if len(term) >= min_letters:
        return OSA.distance(word, term, score_cutoff=1) <= 1
    # Short words: only two letters swapped (``seig`` for ``sieg``), never one changed (``hell`` for ``heil``).
    return len(term) >= 4 and len(word) == len(term) and sorted(word) == sorted(term) and \
        OSA.distance(word, term, score_cutoff=1) <= 1


@dataclass(frozen=True)
class TextView:
    """A text as every matcher reads it: the canonical words of each reading, and their spaced and glued spans."""

    words: tuple[list[str], ...]
    spaced: frozenset[str]
    glued: frozenset[str]


@functools.lru_cache(maxsize=32)
def read(text: str) -> TextView:
    """The view of ``text``, made once for all the checks of one text (they ask for it a dozen times)."""
    readings_words = tuple([canonical(word) for word in spaced_out_joined(raw)] for raw in readings(text))
    spaced: set[str] = set()
    glued: set[str] = set()
    for words in readings_words:
        more_spaced, more_glued = _spans(words)
        spaced |= more_spaced
        glued |= more_glued
    return TextView(readings_words, frozenset(spaced), frozenset(glued))


class TermMatcher:
    """Finds which of a fixed list of terms occur in a text, however the text disguises them."""

    def __init__(self, terms: Iterable[str]) -> None:
        self._terms: list[tuple[str, str, str, tuple[str, ...]]] = []
        for term in terms:
            words = term_words(term)
            if words:
                self._terms.append((term, " ".join(words), "".join(words), tuple(words)))
        # Multi-word terms by each of their words, to try a misspelling only where the rest of a term is present.
        self._by_word: dict[str, list[int]] = {}
        for index, (_, _, _, term_tuple) in enumerate(self._terms):
            if len(term_tuple) > 1:
                for word in set(term_tuple):
                    self._by_word.setdefault(word, []).append(index)

    def __len__(self) -> int:
        return len(self._terms)

    def find(self, text: str) -> list[str]:
        """The terms found in ``text``, in list order, each once (FoldingError if text cannot be read)."""
        view = read(text)
        found: set[int] = set()
        for words in view.words:
            found |= self._misspelt(words, view.glued)
        return [term for index, (term, spaced, glued, _) in enumerate(self._terms)
                if index in found or spaced in view.spaced or glued in view.glued]

    def _misspelt(self, words: list[str], glued_spans: frozenset[str]) -> set[int]:
        found: set[int] = set()
        # Spans by (first letter, length): a misspelling keeps the first letter and about the length.
        by_shape: dict[tuple[str, int], list[str]] = {}
        for span in glued_spans:
            if len(span) >= MIN_FUZZY_TERM - 1:
                by_shape.setdefault((span[0], len(span)), []).append(span)
        for index, (_, _, glued, term) in enumerate(self._terms):
            if len(term) != 1 or len(glued) < MIN_FUZZY_TERM:
                continue
            candidates = (span for size in (len(glued) - 1, len(glued), len(glued) + 1)
                          for span in by_shape.get((glued[0], size), ()))
            if any(_near(span, glued, min_letters=MIN_FUZZY_TERM) for span in candidates):
                found.add(index)
        for position, word in enumerate(words):
            for index in self._by_word.get(word, ()):
                term = self._terms[index][3]
                for anchor in (i for i, w in enumerate(term) if w == word):
                    start = position - anchor
                    window = words[start:start + len(term)] if start >= 0 else []
                    if len(window) == len(term) and _one_misspelt(window, term):
                        found.add(index)
        return found


def _one_misspelt(window: list[str], term: tuple[str, ...]) -> bool:
    """All words of ``term`` in ``window``, all exact but at most one misspelt (see the module docstring)."""
    misspelt = [(got, want) for got, want in zip(window, term, strict=True) if got != want]
    return len(misspelt) <= 1 and all(_near(got, want, min_letters=MIN_FUZZY_WORD) for got, want in misspelt)
