"""Which backends a run uses: chosen by the config, the execution mode and the environment.

``auto`` (the default) means: in ``eco`` mode Ollama when ``PIPELINE_RECORDER_OLLAMA_URL`` (or the config's
``backends.ollama.url``) is set, else the embedded backend; in ``fast`` mode an OpenAI-compatible server when
``PIPELINE_RECORDER_OPENAI_URL`` is set, else as ``eco``. Media: ComfyUI when ``PIPELINE_RECORDER_COMFYUI_URL``
is set and the config names a workflow, else embedded. Naming a backend in the config forces it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from ..configs import PipelineConfig
from ..errors import BackendError
from .comfyui import ComfyUIBackend
from .embedded import EmbeddedMediaBackend, EmbeddedTextBackend
from .llm import OllamaBackend, OpenAIChatBackend
from .protocol import MediaBackend, TextBackend

OLLAMA_URL_ENV = "PIPELINE_RECORDER_OLLAMA_URL"
OPENAI_URL_ENV = "PIPELINE_RECORDER_OPENAI_URL"
OPENAI_KEY_ENV = "PIPELINE_RECORDER_OPENAI_API_KEY"
COMFYUI_URL_ENV = "PIPELINE_RECORDER_COMFYUI_URL"
DEFAULT_OLLAMA_URL = "http://127.0.0.1:11434"
DEFAULT_OLLAMA_MODEL = "llama3.2:1b"
DEFAULT_OPENAI_MODEL = "gpt-4o-mini"


@dataclass(frozen=True)
class Backends:
    """The backends of one run, and why they were chosen (recorded with the run)."""

    text: TextBackend
    media: MediaBackend
    reason: str = ""


def _url(configured: str | None, env: Mapping[str, str], name: str) -> str | None:
    return configured or (env.get(name) or "").strip() or None


def _text(config: PipelineConfig, mode: str, env: Mapping[str, str]) -> tuple[TextBackend, str]:
    ollama_url = _url(config.ollama.url, env, OLLAMA_URL_ENV)
    openai_url = _url(config.openai.url, env, OPENAI_URL_ENV)
    choice = config.text_backend
    if choice == "auto":
        if mode == "fast" and openai_url:
            choice, why = "openai", f"fast mode and {OPENAI_URL_ENV} is set"
        elif ollama_url:
            choice, why = "ollama", f"{OLLAMA_URL_ENV} is set"
        else:
            choice, why = "embedded", "no text server is configured"
    else:
        why = f"config {config.name!r} names it"
    timeout, retries = config.timeout_seconds, config.retries
    if choice == "ollama":
        return OllamaBackend(ollama_url or DEFAULT_OLLAMA_URL, config.ollama.model or DEFAULT_OLLAMA_MODEL,
                             api=config.ollama.api, timeout=timeout, retries=retries), why
    if choice == "openai":
        if not openai_url:
            raise BackendError("openai", f"config {config.name!r} needs an OpenAI-compatible server but "
                                         f"{OPENAI_URL_ENV} is not set")
        return OpenAIChatBackend(openai_url, config.openai.model or DEFAULT_OPENAI_MODEL,
                                 api_key=env.get(OPENAI_KEY_ENV) or None, timeout=timeout, retries=retries), why
    return EmbeddedTextBackend(), why


def _media(config: PipelineConfig, env: Mapping[str, str]) -> tuple[MediaBackend, str]:
    comfy_url = _url(config.comfyui.url, env, COMFYUI_URL_ENV)
    choice = config.media_backend
    if choice == "auto":
        choice = "comfyui" if comfy_url and config.comfyui.workflow is not None and config.media else "embedded"
        why = f"{COMFYUI_URL_ENV} is set" if choice == "comfyui" else "no media server is configured"
    else:
        why = f"config {config.name!r} names it"
    if choice == "comfyui":
        if not comfy_url or config.comfyui.workflow is None:
            raise BackendError("comfyui", f"config {config.name!r} needs {COMFYUI_URL_ENV} (or backends.comfyui.url)"
                                          " and backends.comfyui.workflow")
        return ComfyUIBackend(comfy_url, config.comfyui.workflow, workflow_name=config.comfyui.workflow_name or "",
                              timeout=max(config.timeout_seconds, 1.0), retries=config.retries), why
    return EmbeddedMediaBackend(), why


def select_backends(config: PipelineConfig, execution_mode: str, env: Mapping[str, str] | None = None) -> Backends:
    """The backends for a run of ``config`` in ``execution_mode``; BackendError when a named one is not set up."""
    environ = os.environ if env is None else env
    text, text_why = _text(config, execution_mode, environ)
    media, media_why = _media(config, environ)
    return Backends(text, media, f"text: {text.name} ({text_why}); media: {media.name} ({media_why})")
