"""The embedded backend: offline, deterministic and fast; the default of ``eco`` when no server is configured.

Text: English passes through, German is translated word by word from a small vocabulary, and the interception
stage rewrites text with deterministic rules (the telephone game swaps words for ones that sound alike in meaning,
a little differently at each iteration). Media: Pillow paints a picture whose colours and shapes depend on the
prompt (PNG), and a short melody is synthesised from the prompt (16-bit mono WAV). Same input, same output.
"""

from __future__ import annotations

import hashlib
import io
import math
import random
import re
import struct
import wave
from typing import Any

from PIL import Image, ImageDraw

from ..errors import BackendError
from ..safety import check_level
from ..textfold import fold
from .haiku import haiku
from .protocol import MediaRequest, MediaResult, TextResult
from .vocabulary import (
    COLOURS,
    ENGLISH_VARIANTS,
    GERMAN_MARKERS,
    GERMAN_TO_ENGLISH,
    GERMAN_VERBS,
    NOUNS,
    PAINT_COLOURS,
    PLURALS,
)

NAME = "embedded"
TEXT_MODEL = "embedded-rules-v1"
IMAGE_MODEL = "embedded-pillow-v1"
AUDIO_MODEL = "embedded-synth-v1"
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_SAMPLE_RATE = 22050
_PENTATONIC = (261.63, 293.66, 329.63, 392.00, 440.00, 523.25, 587.33, 659.25)
_INSTRUMENTS = ("a soft flute", "a music box", "a marimba", "a warm piano", "a glass harmonica")
_LIGHTS = ("soft morning light", "the warm light of evening", "bright sunshine", "gentle shadows")


def _inside(text: str) -> str:
    """A sentence made part of another: its closing stop dropped, its first letter small unless it is "I"."""
    inner = text.strip().rstrip(".!")
    if len(inner) > 1 and inner[0].isupper() and (inner[1].islower() or inner[1] == " ") and inner[:2] != "I ":
        inner = inner[0].lower() + inner[1:]
    return inner


def digest(*parts: object) -> int:
    """A stable number from any parts (Python's hash() changes between processes)."""
    return int.from_bytes(hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()[:8], "big")


# Inflection endings of German adjectives and nouns, longest first: "blauen" is "blau", "Häuser" is "Haus" + er.
_AN = re.compile(r"\b([Aa]) (?=[aeiouAEIOU])")
_ENDINGS = ("ern", "en", "em", "er", "es", "e", "n", "s")
_UMLAUTED = str.maketrans("äöü", "aou")


def _third_person(verb: str) -> str:
    """``play`` -> ``plays``, ``cry`` -> ``cries``, ``go`` -> ``goes``, ``look for`` -> ``looks for``."""
    first, _, rest = verb.partition(" ")
    if first.endswith("y") and first[-2:-1] not in "aeiou":
        first = first[:-1] + "ies"
    elif first.endswith(("s", "sh", "ch", "x", "o")):
        first += "es"
    else:
        first += "s"
    return f"{first} {rest}" if rest else first


def _verb(word: str) -> str | None:
    """A conjugated German verb by its infinitive: ``male`` -> paint, ``leuchtet`` -> glows, ``spielst`` -> play."""
    for ending, infinitive_ending, third in (("e", "en", False), ("st", "en", False), ("et", "en", True),
                                             ("t", "en", True), ("", "n", False)):
        if word.endswith(ending) and len(word) > len(ending) + 2:
            english = GERMAN_VERBS.get(word[:len(word) - len(ending)] + infinitive_ending)
            if english is not None:
                return _third_person(english) if third else english
    return None


def _lookup_german(word: str) -> str | None:
    """The English of a German word, also when inflected (``blauen`` -> blue, ``rotes`` -> red, ``Häuser``)."""
    lower = word.lower()
    spelled = lower.replace("ae", "ä").replace("oe", "ö").replace("ue", "ü").replace("ss", "ß")
    for candidate in dict.fromkeys((lower, spelled)):
        if candidate in GERMAN_TO_ENGLISH:
            return GERMAN_TO_ENGLISH[candidate]
    for candidate in dict.fromkeys((lower, spelled)):
        verb = _verb(candidate)
        if verb is not None:
            return verb
        for ending in _ENDINGS:
            stem = candidate.removesuffix(ending)
            if len(stem) >= 3 and stem != candidate:
                for form in dict.fromkeys((stem, stem.translate(_UMLAUTED))):
                    if form in GERMAN_TO_ENGLISH:
                        english = GERMAN_TO_ENGLISH[form]
                        plural = ending in ("er", "ern", "e", "en", "n", "s") and form in NOUNS
                        return PLURALS.get(english, english + "s") if plural else english
    return None


def looks_german(text: str) -> bool:
    """True when enough words are German: a marker word, or at least a third of the words in the vocabulary."""
    words = [w.lower() for w in _WORD.findall(text)]
    if not words:
        return False
    if any(c in text for c in "äöüßÄÖÜ") or any(w in GERMAN_MARKERS for w in words):
        return True
    known = sum(1 for w in words if _lookup_german(w) is not None and w not in ENGLISH_VARIANTS)
    return known * 3 >= len(words) and known >= 2


def _keep_case(original: str, replacement: str) -> str:
    return replacement[:1].upper() + replacement[1:] if original[:1].isupper() else replacement


class EmbeddedTextBackend:
    """Offline text backend: vocabulary translation and rule-based rewriting."""

    name = NAME

    def translate(self, text: str, *, target_language: str = "en") -> TextResult:
        if target_language != "en":
            raise BackendError(NAME, f"translates only into English ('en'), not {target_language!r}")
        if not looks_german(text):
            return TextResult(text, NAME, TEXT_MODEL, {"source_language": "en", "target_language": "en",
                                                       "method": "passthrough"})
        unknown: list[str] = []

        def swap(match: re.Match[str]) -> str:
            word = match.group(0)
            english = _lookup_german(word)
            if english is None:
                unknown.append(word)
                return word
            return _keep_case(word, english) if match.start() == 0 else english

        translated = _AN.sub(r"\1n ", _WORD.sub(swap, text))  # "a owl" -> "an owl"
        return TextResult(translated, NAME, TEXT_MODEL, {"source_language": "de", "target_language": "en",
                                                         "method": "vocabulary", "untranslated": unknown[:50]})

    def transform(self, text: str, *, instruction: str, style: str, iteration: int) -> TextResult:
        words = _WORD.findall(text)
        seed = digest(text, style, iteration)
        if style == "telephone":
            result = self._telephone(text, iteration)
        elif style == "describe":
            a = PAINT_COLOURS[seed % len(PAINT_COLOURS)]
            b = PAINT_COLOURS[(seed // 7 + 1 + seed % len(PAINT_COLOURS)) % len(PAINT_COLOURS)]
            light = _LIGHTS[(seed // 11) % len(_LIGHTS)]
            result = f"A picture of {_inside(text)}, painted in {a} and {b}, with {light}."
        elif style == "haiku":
            result = haiku(text if words else "silence", seed)
        elif style == "sound":
            tempo = ("slow", "gentle", "lively", "bouncy")[seed % 4]
            instrument = _INSTRUMENTS[(seed // 5) % len(_INSTRUMENTS)]
            result = f"A {tempo} melody on {instrument}, inspired by {_inside(text)}."
        else:
            result = text.strip()
        details: dict[str, Any] = {"style": style, "iteration": iteration}
        if style == "telephone":
            details["language"] = "en"  # the retelling rules hear and say English words only
        return TextResult(result, NAME, TEXT_MODEL, details)

    @staticmethod
    def _telephone(text: str, iteration: int) -> str:
        def hear(match: re.Match[str]) -> str:
            word = match.group(0)
            variants = ENGLISH_VARIANTS.get(word.lower())
            # Not every word is misheard every time: roughly every other one, chosen by the word and the round.
            if not variants or digest(word.lower(), iteration, match.start()) % 2:
                return word
            return _keep_case(word, variants[digest(word, iteration) % len(variants)])

        return _WORD.sub(hear, text.strip())

    def judge(self, text: str, *, level: str) -> str:
        verdict = check_level(text, level)
        return "SAFE" if verdict.safe else f"UNSAFE: {verdict.reason}"


class EmbeddedMediaBackend:
    """Offline media backend: a procedural PNG and a procedural WAV, both depending on the prompt."""

    name = NAME

    def generate(self, request: MediaRequest) -> MediaResult:
        if request.kind == "image":
            return MediaResult(paint(request.prompt, request.width, request.height, request.seed), "png", NAME,
                               IMAGE_MODEL, {"width": request.width, "height": request.height})
        if request.kind == "audio":
            return MediaResult(melody(request.prompt, request.seconds, request.seed), "wav", NAME, AUDIO_MODEL,
                               {"seconds": request.seconds, "sample_rate": _SAMPLE_RATE})
        raise BackendError(NAME, f"cannot make {request.kind!r} media; it makes image and audio "
                                 "(configure a ComfyUI server for video)")


def _palette(prompt: str, rng: random.Random) -> list[tuple[int, int, int]]:
    named = [COLOURS[w] for w in _WORD.findall(fold(prompt)) if w in COLOURS]
    while len(named) < 4:
        named.append((rng.randrange(40, 256), rng.randrange(40, 256), rng.randrange(40, 256)))
    return named


def paint(prompt: str, width: int, height: int, seed: int) -> bytes:
    """A PNG whose gradient, shapes and colours follow from the prompt: another prompt, another picture."""
    rng = random.Random(digest(prompt, seed))
    colours = _palette(prompt, rng)
    top, bottom = colours[0], colours[1]
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / max(1, height - 1)
        draw.line([(0, y), (width, y)], fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))
    words = _WORD.findall(prompt) or ["empty"]
    for index, word in enumerate(words[:24]):
        colour = colours[(index + 2) % len(colours)]
        x, y = rng.randrange(width), rng.randrange(height)
        size = max(4, min(width, height) // 10 + len(word) * 3)
        box = [x - size, y - size, x + size, y + size]
        shape = digest(word) % 3
        if shape == 0:
            draw.ellipse(box, fill=colour)
        elif shape == 1:
            draw.rectangle(box, fill=colour)
        else:
            draw.polygon([(x, y - size), (x + size, y + size), (x - size, y + size)], fill=colour)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def melody(prompt: str, seconds: float, seed: int) -> bytes:
    """A WAV melody: one note per word (pitch from the word), soft attack and release so notes do not click."""
    words = _WORD.findall(prompt)[:16] or ["silence"]
    total = max(1, int(seconds * _SAMPLE_RATE))
    per_note = max(1, total // len(words))
    frames = bytearray()
    for index in range(total):
        note = min(index // per_note, len(words) - 1)
        frequency = _PENTATONIC[digest(words[note], seed) % len(_PENTATONIC)]
        position = (index % per_note) / per_note
        envelope = min(1.0, position * 20) * min(1.0, (1 - position) * 8)
        sample = 0.35 * envelope * math.sin(2 * math.pi * frequency * index / _SAMPLE_RATE)
        frames += struct.pack("<h", int(sample * 32767))
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(_SAMPLE_RATE)
        wav.writeframes(bytes(frames))
    return out.getvalue()
