"""Safety checks of stage 1 (§86a StGB) and stage 3 (the per-level pre-output filter).

The term lists are data files in ``pipeline_recorder/safety_terms/``: ``stgb86a.json`` (slogans, symbols,
organisations, symbol characters, number codes and the words that make a number a code) and one text file per
safety level (``adult.txt``, ``youth.txt``, ``kids.txt``); a level filters with its own list and those of every
less strict level, so ``kids`` is the strictest. Every check fails closed: if a list cannot be read or parsed, the
verdict is ``safe: False`` with the code ``undecided``.

>>> check_stgb86a("88 keys on a piano", "kids").safe
True
>>> check_stgb86a("Heil 88", "kids").codes
['stgb86a:number_code']
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .textmatch import TermMatcher, fold, spaced_out_joined, tokens

SAFETY_LEVELS: tuple[str, ...] = ("kids", "youth", "adult", "off")
DEFAULT_SAFETY_LEVEL = "kids"
# Each level filters with its own list and those of every less strict level.
LEVEL_LISTS: dict[str, tuple[str, ...]] = {
    "kids": ("kids", "youth", "adult"),
    "youth": ("youth", "adult"),
    "adult": ("adult",),
    "off": (),
}
STGB86A_FILE = "stgb86a.json"
UNDECIDED = "undecided"


@dataclass
class Verdict:
    """The outcome of one safety check; ``to_entity()`` is what the run stores as ``safety``/``safety_pre_output``."""

    safe: bool
    level: str
    checks: list[str]
    codes: list[str] = field(default_factory=list)
    matches: list[dict[str, str]] = field(default_factory=list)
    reason: str = ""

    @property
    def undecided(self) -> bool:
        return UNDECIDED in self.codes

    def merge(self, other: Verdict) -> Verdict:
        """Both checks together: unsafe if either is; a finding made by both is listed once."""
        matches: list[dict[str, str]] = []
        for match in [*self.matches, *other.matches]:
            if match not in matches:
                matches.append(match)
        reasons = list(dict.fromkeys(r for r in (self.reason, other.reason) if r))
        return Verdict(
            safe=self.safe and other.safe,
            level=self.level,
            checks=list(dict.fromkeys([*self.checks, *other.checks])),
            codes=list(dict.fromkeys([*self.codes, *other.codes])),
            matches=matches,
            reason="; ".join(reasons),
        )

    def to_entity(self) -> dict[str, Any]:
        return {"safe": self.safe, "codes": list(self.codes), "level": self.level, "checks": list(self.checks),
                "matches": list(self.matches), "reason": self.reason}


def undecided(level: str, check: str, reason: str) -> Verdict:
    """The fail-closed verdict of a checker that could not decide."""
    return Verdict(safe=False, level=level, checks=[check], codes=[UNDECIDED],
                   reason=f"{check} could not decide ({reason}); blocked to be safe")


def passed_unchecked(level: str) -> Verdict:
    """Safety level ``off``: nothing is checked, and the entity says so."""
    return Verdict(safe=True, level=level, checks=[], reason="safety level 'off': not checked")


class TermListError(Exception):
    """A term list file is missing or malformed (turned into an undecided verdict, never let through)."""


@dataclass(frozen=True)
class Stgb86aTerms:
    matchers: dict[str, TermMatcher]
    symbol_characters: tuple[str, ...]
    number_codes: dict[str, str]
    combination_only: frozenset[str]
    code_words: frozenset[str]
    window: int


class TermLists:
    """The term lists of one folder, read once and kept (thread-safe). The default folder is the shipped one."""

    def __init__(self, folder: Path | None = None) -> None:
        self._folder = folder
        self._lock = threading.Lock()
        self._stgb86a: Stgb86aTerms | None = None
        self._levels: dict[str, TermMatcher] = {}

    def _read(self, name: str) -> str:
        try:
            if self._folder is not None:
                return (self._folder / name).read_text(encoding="utf-8")
            return resources.files("pipeline_recorder").joinpath("safety_terms", name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TermListError(f"term list {name!r} cannot be read: {exc}") from exc

    def stgb86a(self) -> Stgb86aTerms:
        with self._lock:
            if self._stgb86a is None:
                self._stgb86a = self._parse_stgb86a(self._read(STGB86A_FILE))
            return self._stgb86a

    @staticmethod
    def _parse_stgb86a(text: str) -> Stgb86aTerms:
        try:
            data = json.loads(text)
            matchers = {category: TermMatcher(_strings(data, category))
                        for category in ("slogans", "symbols", "organisations")}
            codes = data["number_codes"]
            if not isinstance(codes, dict) or not all(isinstance(k, str) and k.isdigit() for k in codes):
                raise TermListError("number_codes must map digit strings to explanations")
            window = data["code_word_window"]
            if not isinstance(window, int) or not 1 <= window <= 5:
                raise TermListError("code_word_window must be an integer from 1 to 5")
            return Stgb86aTerms(
                matchers=matchers,
                symbol_characters=tuple(_strings(data, "symbol_characters")),
                number_codes={k: str(v) for k, v in codes.items()},
                combination_only=frozenset(_strings(data, "codes_only_in_combination")),
                code_words=frozenset(word for term in _strings(data, "code_words") for word in tokens(term)),
                window=window,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise TermListError(f"{STGB86A_FILE} is malformed: {exc!r}") from exc

    def level(self, name: str) -> TermMatcher:
        with self._lock:
            if name not in self._levels:
                lines = self._read(f"{name}.txt").splitlines()
                terms = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
                if not terms:
                    raise TermListError(f"term list {name}.txt holds no terms")
                self._levels[name] = TermMatcher(terms)
            return self._levels[name]


def _strings(data: dict[str, Any], key: str) -> list[str]:
    values = data[key]
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
        raise TermListError(f"{key} must be a list of non-empty strings")
    return values


SHIPPED_TERMS = TermLists()


def _number_codes(text: str, terms: Stgb86aTerms) -> list[str]:
    """Number codes used as codes: alone, next to another code, or next to a word that makes them one."""
    words = spaced_out_joined(tokens(text))
    codes = terms.number_codes
    found: list[str] = []
    if not words:
        return found
    only_codes = all(w in codes or w in terms.code_words for w in words)
    for position, word in enumerate(words):
        if word not in codes:
            continue
        near = words[max(0, position - terms.window):position] + words[position + 1:position + 1 + terms.window]
        next_to_code = any(w in codes for w in near)
        next_to_word = any(w in terms.code_words for w in near)
        standalone_ok = word not in terms.combination_only
        if next_to_code or (standalone_ok and (only_codes or next_to_word)):
            found.append(word)
    return list(dict.fromkeys(found))


def check_stgb86a(text: str, level: str, term_lists: TermLists = SHIPPED_TERMS) -> Verdict:
    """Stage 1: symbols, slogans and codes of organisations banned under §86a StGB (every level but ``off``)."""
    check = "stgb86a"
    if level == "off":
        return passed_unchecked(level)
    try:
        terms = term_lists.stgb86a()
    except TermListError as exc:
        return undecided(level, check, str(exc))
    matches: list[dict[str, str]] = []
    folded = fold(text)
    for character in terms.symbol_characters:
        if fold(character) in folded:
            matches.append({"category": "symbol_character", "term": character})
    for category, matcher in terms.matchers.items():
        matches.extend({"category": category.rstrip("s"), "term": term} for term in matcher.find(text))
    for code in _number_codes(text, terms):
        matches.append({"category": "number_code", "term": code, "meaning": terms.number_codes[code]})
    codes = list(dict.fromkeys(f"{check}:{m['category']}" for m in matches))
    reason = ("§86a StGB: " + ", ".join(f"{m['category']} {m['term']!r}" for m in matches)) if matches else ""
    return Verdict(safe=not matches, level=level, checks=[check], codes=codes, matches=matches, reason=reason)


def check_level(text: str, level: str, term_lists: TermLists = SHIPPED_TERMS) -> Verdict:
    """Stage 3: the filter of a safety level (``kids`` strictest) over an output before it is produced."""
    check = f"level_filter:{level}"
    if level == "off":
        return passed_unchecked(level)
    if level not in LEVEL_LISTS:
        return undecided(level, check, f"unknown safety level {level!r}")
    matches: list[dict[str, str]] = []
    try:
        for list_name in LEVEL_LISTS[level]:
            matches.extend({"category": f"level_{list_name}", "term": term}
                           for term in term_lists.level(list_name).find(text))
    except TermListError as exc:
        return undecided(level, check, str(exc))
    codes = list(dict.fromkeys(f"level:{m['category'].removeprefix('level_')}" for m in matches))
    reason = (f"not suitable for level {level!r}: " + ", ".join(repr(m["term"]) for m in matches)) if matches else ""
    return Verdict(safe=not matches, level=level, checks=[check], codes=codes, matches=matches, reason=reason)


def parse_judgement(answer: str, level: str, check: str) -> Verdict:
    """A model's one-word verdict (``SAFE`` or ``UNSAFE``, optionally with a reason); anything else is undecided."""
    words = tokens(answer)
    if words[:1] == ["safe"] and "unsafe" not in words:
        return Verdict(safe=True, level=level, checks=[check])
    if words[:1] == ["unsafe"]:
        return Verdict(safe=False, level=level, checks=[check], codes=[f"{check}:unsafe"],
                       reason=f"{check}: {answer.strip()[:300]}")
    return undecided(level, check, f"unparseable answer {answer.strip()[:80]!r}")
