"""What a backend is: the typing.Protocols every backend (embedded or HTTP) implements, and what it returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class TextResult:
    """Text made by a backend, with who made it (stored in the entity's metadata)."""

    text: str
    backend: str
    model: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MediaRequest:
    """One media output to make: ``kind`` is image, audio or video."""

    kind: str
    prompt: str
    seed: int
    width: int = 256
    height: int = 256
    seconds: float = 2.0


@dataclass(frozen=True)
class MediaResult:
    """A media file made by a backend: its bytes and a format hint (the recorder detects the real one)."""

    content: bytes
    format: str
    backend: str
    model: str
    details: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class TextBackend(Protocol):
    """Translation, the interception transform and an optional safety judgement."""

    name: str

    def translate(self, text: str, *, target_language: str = "en") -> TextResult:
        """``text`` in the target language (passed through when it already is)."""
        ...

    def transform(self, text: str, *, instruction: str, style: str, iteration: int) -> TextResult:
        """One interception step: ``text`` rewritten as ``instruction`` says (``style`` guides the embedded one)."""
        ...

    def judge(self, text: str, *, level: str) -> str:
        """A one-word verdict, ``SAFE`` or ``UNSAFE`` (optionally ``: reason``), for an audience of ``level``."""
        ...


@runtime_checkable
class MediaBackend(Protocol):
    """Makes images, audio or video from a prompt."""

    name: str

    def generate(self, request: MediaRequest) -> MediaResult:
        """The media file for ``request``; BackendError if it cannot be made."""
        ...
