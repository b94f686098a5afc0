"""Stage 1's check: symbols, slogans, codes and flags of organisations banned in Germany (§86a StGB).

Runs at every safety level but ``off``. The terms are data (``safety_terms/stgb86a.json``, read by
``safety.TermLists``); how text is read so that disguises do not hide them is ``textfold`` and ``textmatch``.
Fails closed: a term list that cannot be read, a reading that cannot be made, or any other failure of the checker
gives the ``undecided`` verdict, which blocks.

>>> check_stgb86a("88 keys on a piano", "kids").safe
True
>>> check_stgb86a("Heil achtundachtzig", "kids").codes
['stgb86a:number_code']
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from .safety import SHIPPED_TERMS, TermListError, TermLists, Verdict, passed_unchecked, undecided
from .textfold import canonical, fold, latin_fold, tokens
from .textmatch import TermMatcher, read, spaced_out_joined

log = logging.getLogger(__name__)
CHECK = "stgb86a"
STGB86A_FILE = "stgb86a.json"
_SENTENCE_END = re.compile(r"[.!?;:\n]+")
# A number glued to a word of at least three letters, either way round (``Skin88``, ``88Aryan``).
_GLUED_NUMBER = re.compile(r"(?<=[^\W\d_]{3})\d+|\d+(?=[^\W\d_]{3})")


@dataclass(frozen=True)
class Stgb86aTerms:
    """The parsed ``stgb86a.json``."""

    matchers: dict[str, TermMatcher]
    organisation_symbols: OrganisationSymbols
    symbol_characters: tuple[str, ...]
    number_codes: dict[str, str]
    combination_only: frozenset[str]
    code_words: frozenset[str]
    greetings: frozenset[tuple[str, ...]]
    window: int


@dataclass(frozen=True)
class OrganisationSymbols:
    """Banned organisations and the words that make a mention of one a symbol of it (flag, logo, emblem, ...)."""

    organisations: dict[tuple[str, ...], str]
    symbol_words: frozenset[str]
    window: int = 3

    @classmethod
    def parse(cls, organisations: list[str], symbol_words: list[str]) -> OrganisationSymbols:
        return cls({tuple(_words(name)): name for name in organisations},
                   frozenset(word for term in symbol_words for word in _words(term)))

    def find(self, text: str) -> list[str]:
        """``PKK-Fahne``, ``Fahne der PKK``, ``the flag of the PKK``, ``Hamasflagge``: the organisations found."""
        by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for org, name in self.organisations.items():
            by_first.setdefault(org[0], []).append((org, name))
        glued_names = {"".join(words): name for words, name in self.organisations.items()}
        symbol_sizes = sorted({len(word) for word in self.symbol_words})
        found: list[str] = []
        for words in read(text).words:
            for position, word in enumerate(words):
                for org, name in by_first.get(word, ()):
                    end = position + len(org)
                    if tuple(words[position:end]) != org:
                        continue
                    near = words[max(0, position - self.window):position] + words[end:end + self.window]
                    if any(other in self.symbol_words for other in near):
                        found.append(name)
                for size in symbol_sizes:  # one compound word: "hamasflagge", "pkkfahne"
                    if len(word) > size and word[-size:] in self.symbol_words:
                        stem = word[:-size]
                        compound = glued_names.get(stem) or glued_names.get(stem[:-1])  # "-s-" linking: "isisflagge"
                        if compound is not None:
                            found.append(compound)
        return list(dict.fromkeys(found))


def parse_terms(text: str) -> Stgb86aTerms:
    """``stgb86a.json`` parsed; TermListError naming what is malformed."""
    try:
        data = json.loads(text)
        matchers = {category.removesuffix("s"): TermMatcher(_strings(data, category))
                    for category in ("slogans", "symbols", "organisations")}
        codes = data["number_codes"]
        if not isinstance(codes, dict) or not all(isinstance(k, str) and k.isdigit() for k in codes):
            raise TermListError("number_codes must map digit strings to explanations")
        window = data["code_word_window"]
        if not isinstance(window, int) or not 1 <= window <= 5:
            raise TermListError("code_word_window must be an integer from 1 to 5")
        return Stgb86aTerms(
            matchers=matchers,
            organisation_symbols=OrganisationSymbols.parse(_strings(data, "banned_organisations"),
                                                           _strings(data, "symbol_words")),
            symbol_characters=tuple(_strings(data, "symbol_characters")),
            number_codes={k: str(v) for k, v in codes.items()},
            combination_only=frozenset(_strings(data, "codes_only_in_combination")),
            code_words=frozenset(word for term in _strings(data, "code_words") for word in _words(term)),
            greetings=frozenset(tuple(_words(term)) for term in _strings(data, "greeting_words")),
            window=window,
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise TermListError(f"{STGB86A_FILE} is malformed: {exc!r}") from exc


def _strings(data: dict[str, Any], key: str) -> list[str]:
    values = data[key]
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
        raise TermListError(f"{key} must be a list of non-empty strings")
    return values


def stgb86a_terms(term_lists: TermLists = SHIPPED_TERMS) -> Stgb86aTerms:
    """The §86a terms of ``term_lists``, parsed once (TermListError if missing or malformed)."""
    return term_lists.parsed(STGB86A_FILE, parse_terms)


def _words(text: str) -> list[str]:
    return [canonical(word) for word in spaced_out_joined(tokens(text))]


def _is_greeting(sentence: list[str], position: int, greetings: frozenset[tuple[str, ...]]) -> bool:
    """The code at ``position`` opens or closes its sentence next to a greeting (``Grüße, 88``, ``88 an alle``)."""
    longest = max((len(g) for g in greetings), default=0)
    if position == len(sentence) - 1:
        return any(tuple(sentence[max(0, position - size):position]) in greetings for size in range(1, longest + 1))
    if position == 0:
        return any(tuple(sentence[1:1 + size]) in greetings for size in range(1, longest + 1))
    return False


def _number_codes(text: str, terms: Stgb86aTerms) -> list[str]:
    """Number codes used as codes: alone, combined, next to (or glued to) a code word, or as a greeting."""
    codes = terms.number_codes
    words = _words(text)
    if not words:
        return []
    glued = {number for number in _GLUED_NUMBER.findall(latin_fold(text)) if number in codes}
    only_codes = all(w in codes or w in terms.code_words for w in words)
    found: list[str] = []
    for position, word in enumerate(words):
        if word not in codes:
            continue
        near = words[max(0, position - terms.window):position] + words[position + 1:position + 1 + terms.window]
        next_to_code = any(w in codes for w in near)
        next_to_word = any(w in terms.code_words for w in near)
        standalone_ok = word not in terms.combination_only
        if next_to_code or (standalone_ok and (only_codes or next_to_word or word in glued)):
            found.append(word)
    for sentence_text in _SENTENCE_END.split(text):
        sentence = _words(sentence_text)
        for position, word in enumerate(sentence):
            if word in codes and word not in terms.combination_only and _is_greeting(sentence, position,
                                                                                      terms.greetings):
                found.append(word)
    return list(dict.fromkeys(found))


def check_stgb86a(text: str, level: str, term_lists: TermLists = SHIPPED_TERMS) -> Verdict:
    """Stage 1: symbols, slogans, codes and organisations' flags banned under §86a StGB (every level but ``off``)."""
    if level == "off":
        return passed_unchecked(level)
    try:
        terms = stgb86a_terms(term_lists)
        matches: list[dict[str, str]] = []
        folded = fold(text)
        for character in terms.symbol_characters:
            if fold(character) in folded:
                matches.append({"category": "symbol_character", "term": character})
        for category, matcher in terms.matchers.items():
            matches.extend({"category": category, "term": term} for term in matcher.find(text))
        matches.extend({"category": "organisation_symbol", "term": name}
                       for name in terms.organisation_symbols.find(text))
        for code in _number_codes(text, terms):
            matches.append({"category": "number_code", "term": code, "meaning": terms.number_codes[code]})
    except Exception as exc:  # whatever stops the checker, the text is not let through unchecked
        log.exception("the §86a check could not decide")
        return undecided(level, CHECK, f"{type(exc).__name__}: {exc}")
    codes = list(dict.fromkeys(f"{CHECK}:{m['category']}" for m in matches))
    reason = ("§86a StGB: " + ", ".join(f"{m['category']} {m['term']!r}" for m in matches)) if matches else ""
    return Verdict(safe=not matches, level=level, checks=[CHECK], codes=codes, matches=matches, reason=reason)
