"""Text backends that talk to a language model over HTTP: Ollama and any OpenAI-compatible chat endpoint.

The prompts for translation, interception and the safety judgement are written once, in ``PromptedTextBackend``;
each server class only says how to send a system and a user message and where the answer is.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from ..errors import BackendError
from .http import HttpBackendClient, field
from .protocol import TextResult

TRANSLATE_PROMPT = ("Translate the user's text into English. If it is already English, repeat it unchanged. "
                    "Answer with the translation only, without comments.")
JUDGE_PROMPT = ("You check content for an audience of safety level '{level}' (kids: children under 12; youth: "
                "12 to 17; adult: grown-ups). Is the user's text safe to turn into media for this audience, and free "
                "of symbols, slogans and codes banned under German law (§86a StGB)? Answer with exactly one word, "
                "SAFE or UNSAFE, optionally followed by ': ' and a short reason.")


class PromptedTextBackend(ABC):
    """Translation, transformation and judgement through one ``complete(system, user)`` call."""

    name = "prompted"
    model = ""

    @abstractmethod
    def complete(self, system: str, user: str) -> str:
        """The model's answer to one system + user prompt."""

    def close(self) -> None:  # noqa: B027 -- an optional hook: only backends that hold a client override it
        """Release the HTTP connections (subclasses that hold a client close it)."""

    def _result(self, text: str, **details: Any) -> TextResult:
        if not text.strip():
            raise BackendError(self.name, f"model {self.model!r} answered with empty text")
        return TextResult(text.strip(), self.name, self.model, details)

    def translate(self, text: str, *, target_language: str = "en") -> TextResult:
        prompt = TRANSLATE_PROMPT if target_language == "en" else TRANSLATE_PROMPT.replace("English", target_language)
        return self._result(self.complete(prompt, text), target_language=target_language)

    def transform(self, text: str, *, instruction: str, style: str, iteration: int) -> TextResult:
        return self._result(self.complete(instruction, text), iteration=iteration)

    def judge(self, text: str, *, level: str) -> str:
        return self.complete(JUDGE_PROMPT.format(level=level), text)


class OllamaBackend(PromptedTextBackend):
    """Ollama: ``POST /api/generate`` (prompt + system) or ``POST /api/chat`` (messages), never streamed."""

    name = "ollama"

    def __init__(self, url: str, model: str, *, api: str = "generate", timeout: float = 60.0,
                 retries: int = 2) -> None:
        if api not in ("generate", "chat"):
            raise BackendError(self.name, f"api must be 'generate' or 'chat', got {api!r}")
        self.model, self.api = model, api
        self._http = HttpBackendClient(self.name, url, timeout=timeout, retries=retries)

    def close(self) -> None:
        self._http.close()

    def complete(self, system: str, user: str) -> str:
        if self.api == "chat":
            answer = self._http.post_json("/api/chat", {
                "model": self.model, "stream": False,
                "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}]})
            text = field(answer, "message", "content", backend=self.name, what="POST /api/chat")
        else:
            answer = self._http.post_json("/api/generate", {"model": self.model, "system": system, "prompt": user,
                                                            "stream": False})
            text = field(answer, "response", backend=self.name, what="POST /api/generate")
        if not isinstance(text, str):
            raise BackendError(self.name, f"the model's answer is not text: {str(text)[:100]!r}")
        return text


class OpenAIChatBackend(PromptedTextBackend):
    """Any OpenAI-compatible server: ``POST {url}/chat/completions`` with a bearer key; ``url`` includes ``/v1``."""

    name = "openai"

    def __init__(self, url: str, model: str, *, api_key: str | None = None, timeout: float = 60.0,
                 retries: int = 2) -> None:
        self.model = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = HttpBackendClient(self.name, url, timeout=timeout, retries=retries, headers=headers)

    def close(self) -> None:
        self._http.close()

    def complete(self, system: str, user: str) -> str:
        answer = self._http.post_json("/chat/completions", {
            "model": self.model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}]})
        text = field(answer, "choices", 0, "message", "content", backend=self.name, what="POST /chat/completions")
        if not isinstance(text, str):
            raise BackendError(self.name, f"the model's answer is not text: {str(text)[:100]!r}")
        return text
