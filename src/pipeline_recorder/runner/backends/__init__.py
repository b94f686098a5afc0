"""Backends behind typing.Protocols: the embedded offline default, Ollama, OpenAI-compatible chat and ComfyUI."""

from .comfyui import ComfyUIBackend
from .embedded import EmbeddedMediaBackend, EmbeddedTextBackend
from .llm import OllamaBackend, OpenAIChatBackend
from .protocol import MediaBackend, MediaRequest, MediaResult, TextBackend, TextResult
from .selection import Backends, select_backends

__all__ = [
    "Backends",
    "ComfyUIBackend",
    "EmbeddedMediaBackend",
    "EmbeddedTextBackend",
    "MediaBackend",
    "MediaRequest",
    "MediaResult",
    "OllamaBackend",
    "OpenAIChatBackend",
    "TextBackend",
    "TextResult",
    "select_backends",
]
