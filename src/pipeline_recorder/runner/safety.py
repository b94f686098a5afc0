"""Safety verdicts, the term lists they are made from, and stage 3's per-level pre-output filter.

The term lists are data files in ``pipeline_recorder/safety_terms/``: ``stgb86a.json`` (stage 1's §86a check,
``stgb86a.py``) and one text file per safety level (``adult.txt``, ``youth.txt``, ``kids.txt``); a level filters
with its own list and those of every less strict level, so ``kids`` is the strictest. Every check fails closed:
if a list cannot be read or parsed, or the text cannot be read, the verdict is ``safe: False`` with the code
``undecided``.

>>> check_level("a bloody knife attack", "kids").safe
False
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar, cast

from .textfold import tokens
from .textmatch import TermMatcher

SAFETY_LEVELS: tuple[str, ...] = ("kids", "youth", "adult", "off")
DEFAULT_SAFETY_LEVEL = "kids"
# Each level filters with its own list and those of every less strict level.
LEVEL_LISTS: dict[str, tuple[str, ...]] = {
    "kids": ("kids", "youth", "adult"),
    "youth": ("youth", "adult"),
    "adult": ("adult",),
    "off": (),
}
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


T = TypeVar("T")


class TermLists:
    """The term lists of one folder, read and parsed once and kept (thread-safe). The default is the shipped one."""

    def __init__(self, folder: Path | None = None) -> None:
        self._folder = folder
        self._lock = threading.Lock()
        self._parsed: dict[str, Any] = {}

    def _read(self, name: str) -> str:
        try:
            if self._folder is not None:
                return (self._folder / name).read_text(encoding="utf-8")
            return resources.files("pipeline_recorder").joinpath("safety_terms", name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TermListError(f"term list {name!r} cannot be read: {exc}") from exc

    def parsed(self, name: str, parse: Callable[[str], T]) -> T:
        """The file ``name`` as ``parse`` makes it (TermListError if it cannot be read or parsed), cached."""
        with self._lock:
            if name not in self._parsed:
                self._parsed[name] = parse(self._read(name))
            return cast(T, self._parsed[name])

    def level(self, name: str) -> TermMatcher:
        """The filter list of one safety level (``kids.txt``, ...)."""
        return self.parsed(f"{name}.txt", _parse_level_list)


def _parse_level_list(text: str) -> TermMatcher:
    terms = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not terms:
        raise TermListError("the term list holds no terms")
    return TermMatcher(terms)


SHIPPED_TERMS = TermLists()


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
    except Exception as exc:  # a list that cannot be read, a text that cannot be read: blocked, never let through
        return undecided(level, check, str(exc) if isinstance(exc, TermListError) else f"{type(exc).__name__}: {exc}")
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
