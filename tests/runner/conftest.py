from __future__ import annotations

from collections.abc import Iterator

import pytest
import runner_fakes as fakes


@pytest.fixture
def ollama_server() -> Iterator[fakes.FakeServer]:
    server = fakes.ollama()
    yield server
    server.close()


@pytest.fixture
def openai_server() -> Iterator[fakes.FakeServer]:
    server = fakes.openai()
    yield server
    server.close()


@pytest.fixture
def comfyui_server() -> Iterator[fakes.FakeServer]:
    server = fakes.comfyui()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _no_backend_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests choose their backends; a developer's exported server URLs must not leak in."""
    for name in ("PIPELINE_RECORDER_OLLAMA_URL", "PIPELINE_RECORDER_OPENAI_URL", "PIPELINE_RECORDER_OPENAI_API_KEY",
                 "PIPELINE_RECORDER_COMFYUI_URL"):
        monkeypatch.delenv(name, raising=False)
