"""Contract tests: one body against every backend, over small local servers that speak each protocol."""

from __future__ import annotations

import socket
import wave
from collections.abc import Callable, Iterator
from io import BytesIO
from typing import Any

import pytest
import runner_fakes as fakes

from pipeline_recorder.formats import detect_binary
from pipeline_recorder.runner.backends import (
    ComfyUIBackend,
    EmbeddedMediaBackend,
    EmbeddedTextBackend,
    MediaBackend,
    MediaRequest,
    OllamaBackend,
    OpenAIChatBackend,
    TextBackend,
    select_backends,
)
from pipeline_recorder.runner.configs import ConfigCatalog, shipped_folder
from pipeline_recorder.runner.errors import BackendError
from pipeline_recorder.runner.safety import parse_judgement

TEXT_BACKENDS = ["embedded", "ollama-generate", "ollama-chat", "openai"]


@pytest.fixture(params=TEXT_BACKENDS)
def text_backend(request: pytest.FixtureRequest) -> Iterator[TextBackend]:
    kind = request.param
    if kind == "embedded":
        yield EmbeddedTextBackend()
        return
    server = fakes.openai() if kind == "openai" else fakes.ollama()
    backend: Any
    if kind == "openai":
        backend = OpenAIChatBackend(f"{server.url}/v1", "test-model", api_key="k-123", timeout=5, retries=0)
    else:
        backend = OllamaBackend(server.url, "test-model", api=kind.split("-")[1], timeout=5, retries=0)
    yield backend
    backend.close()
    server.close()


def test_every_text_backend_translates_transforms_and_judges(text_backend: TextBackend) -> None:
    assert isinstance(text_backend, TextBackend)
    translated = text_backend.translate("Ein Hund", target_language="en")
    assert "dog" in translated.text.lower()
    assert translated.backend == text_backend.name and translated.model
    step = text_backend.transform("A dog", instruction="Retell it.", style="telephone", iteration=0)
    assert step.text.strip() and step.backend == text_backend.name
    for text, safe in (("a happy dog", True), ("a bloody knife", False)):
        verdict = parse_judgement(text_backend.judge(text, level="kids"), "kids", "judge")
        assert verdict.safe is safe and not verdict.undecided


@pytest.fixture(params=["embedded", "comfyui"])
def media_backend(request: pytest.FixtureRequest) -> Iterator[MediaBackend]:
    if request.param == "embedded":
        yield EmbeddedMediaBackend()
        return
    server = fakes.comfyui()
    backend = ComfyUIBackend(server.url, {"6": {"inputs": {"text": "{{prompt}}", "seed": "{{seed}}"}}},
                             workflow_name="test.workflow.json", timeout=10, retries=0)
    yield backend
    backend.close()
    server.close()


def test_every_media_backend_makes_a_real_png(media_backend: MediaBackend) -> None:
    result = media_backend.generate(MediaRequest("image", "a red dog", seed=7, width=32, height=24))
    assert detect_binary(result.content[:8192], None).ext == "png"
    assert result.backend == media_backend.name


def test_comfyui_gets_the_filled_workflow_and_follows_history_then_view() -> None:
    server = fakes.comfyui(polls_before_done=2)
    backend = ComfyUIBackend(server.url, {"6": {"inputs": {"text": "a {{prompt}}!", "seed": "{{seed}}"}}},
                             timeout=10, retries=0)
    try:
        backend.generate(MediaRequest("image", "cat", seed=42))
    finally:
        backend.close()
        server.close()
    method, path, body = server.requests[0]
    assert (method, path) == ("POST", "/prompt")
    assert body["prompt"]["6"]["inputs"] == {"text": "a cat!", "seed": 42}
    assert server.paths()[1:] == ["/history/p1"] * 3 + ["/view"]


def test_embedded_media_depends_on_the_prompt_and_is_deterministic() -> None:
    backend = EmbeddedMediaBackend()
    one = backend.generate(MediaRequest("image", "a red dog", seed=1)).content
    assert one == backend.generate(MediaRequest("image", "a red dog", seed=1)).content
    assert one != backend.generate(MediaRequest("image", "a blue whale", seed=1)).content
    audio = backend.generate(MediaRequest("audio", "a red dog", seed=1, seconds=0.5)).content
    with wave.open(BytesIO(audio)) as wav:
        assert wav.getnframes() == 11025 and wav.getnchannels() == 1
    with pytest.raises(BackendError, match="video"):
        backend.generate(MediaRequest("video", "x", seed=1))


def test_embedded_translation_handles_german_and_passes_english_through() -> None:
    backend = EmbeddedTextBackend()
    assert backend.translate("Ein kleiner Hund spielt im Garten").text == "A small dog plays in the garden"
    english = backend.translate("Test input")
    assert english.text == "Test input" and english.details["method"] == "passthrough"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_backend_that_is_down_fails_with_a_clear_error_after_bounded_retries() -> None:
    backend = OllamaBackend(f"http://127.0.0.1:{_closed_port()}", "m", timeout=2, retries=1)
    with pytest.raises(BackendError, match=r"ollama backend: POST .*/api/generate failed after 2 attempt\(s\): "
                                           r"could not connect"):
        backend.translate("x")


def _scripted(replies: list[tuple[int, Any]]) -> fakes.FakeServer:
    server = fakes.FakeServer()
    queue = list(replies)

    def reply(_: dict[str, Any], __: dict[str, str]) -> tuple[int, Any]:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    server.routes[("POST", "/api/generate")] = reply
    server.routes[("POST", "/v1/chat/completions")] = reply
    return server


def test_a_retryable_status_is_retried_and_then_succeeds() -> None:
    server = _scripted([(503, "busy"), (200, {"response": "ok"})])
    try:
        assert OllamaBackend(server.url, "m", retries=2).transform("x", instruction="i", style="plain",
                                                                   iteration=0).text == "ok"
        assert server.paths() == ["/api/generate", "/api/generate"]
    finally:
        server.close()


@pytest.mark.parametrize(("replies", "message"), [
    ([(500, "boom")], "failed after 3 attempt"),
    ([(404, "model not found")], "answered 404"),
    ([(200, "<html>not json</html>")], "not JSON"),
    ([(200, {"unexpected": True})], "the answer has no"),
    ([(200, {"response": ""})], "empty text"),
])
def test_bad_answers_become_backend_errors_that_say_what_was_wrong(replies: list[tuple[int, Any]],
                                                                   message: str) -> None:
    server = _scripted(replies)
    try:
        with pytest.raises(BackendError, match=message):
            OllamaBackend(server.url, "m", timeout=5, retries=2).translate("x")
        openai_like = OpenAIChatBackend(f"{server.url}/v1", "m", timeout=5, retries=0)
        with pytest.raises(BackendError):
            openai_like.translate("x")
    finally:
        server.close()


def test_a_backend_that_does_not_answer_in_time_times_out() -> None:
    server = fakes.ollama()
    server.gate.clear()  # requests hang until released
    try:
        with pytest.raises(BackendError, match="timed out"):
            OllamaBackend(server.url, "m", timeout=0.2, retries=0).translate("x")
    finally:
        server.close()


def test_comfyui_reports_a_failed_prompt_and_a_prompt_that_never_finishes() -> None:
    server = fakes.comfyui()
    server.routes[("GET", "/history/*")] = lambda _b, q: (200, {"p1": {"outputs": {}, "status": {
        "status_str": "error", "messages": ["out of memory"]}}})
    backend = ComfyUIBackend(server.url, {}, timeout=5, retries=0)
    with pytest.raises(BackendError, match="out of memory"):
        backend.generate(MediaRequest("image", "x", seed=1))
    server.routes[("GET", "/history/*")] = lambda _b, q: (200, {})
    slow = ComfyUIBackend(server.url, {}, timeout=0.3, retries=0)
    with pytest.raises(BackendError, match="not done within"):
        slow.generate(MediaRequest("image", "x", seed=1))
    server.close()


def test_openai_backend_sends_the_bearer_key() -> None:
    server = fakes.openai()
    seen: list[str] = []
    original: Callable[..., Any] = server.routes[("POST", "/v1/chat/completions")]
    server.routes[("POST", "/v1/chat/completions")] = lambda b, q: (seen.append(b["model"]), original(b, q))[1]
    try:
        OpenAIChatBackend(f"{server.url}/v1", "gpt-test", api_key="secret").translate("Hund")
        assert seen == ["gpt-test"]
    finally:
        server.close()


def test_backends_are_chosen_by_mode_and_environment() -> None:
    stillepost = ConfigCatalog().get("stillepost")
    assert select_backends(stillepost, "eco", {}).text.name == "embedded"
    assert select_backends(stillepost, "eco", {}).media.name == "embedded"
    env = {"PIPELINE_RECORDER_OLLAMA_URL": "http://127.0.0.1:1", "PIPELINE_RECORDER_OPENAI_URL": "http://127.0.0.1:2",
           "PIPELINE_RECORDER_COMFYUI_URL": "http://127.0.0.1:3"}
    assert select_backends(stillepost, "eco", env).text.name == "ollama"
    assert select_backends(stillepost, "fast", env).text.name == "openai"
    assert select_backends(stillepost, "fast", env).media.name == "comfyui"
    assert "workflow" in str(next(p for p in shipped_folder().iterdir() if p.name.endswith(".workflow.json")).name)
