"""run_pipeline: what a run leaves on disk for each way it can end."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
import runner_fakes as fakes

from pipeline_recorder import InvalidRunIdError, ValidationError
from pipeline_recorder.runner import Backends, ConfigCatalog, RunEvent, run_pipeline
from pipeline_recorder.runner.backends import EmbeddedMediaBackend, EmbeddedTextBackend, OllamaBackend
from pipeline_recorder.runner.configs import parse_config

SIX = ["input", "translation", "safety", "interception", "safety_pre_output", "output_image"]


def metadata(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "metadata.json").read_text(encoding="utf-8"))


def types(doc: dict[str, Any]) -> list[str]:
    return [e["type"] for e in doc["entities"]]


def test_stillepost_completes_with_six_entities_and_full_progress(tmp_path: Path) -> None:
    events: list[RunEvent] = []
    outcome = run_pipeline("stillepost", "Ein kleiner Hund spielt im Garten", "eco", "kids", base_path=tmp_path,
                           progress=events.append)
    doc = metadata(outcome.run_folder)
    assert outcome.status == doc["status"] == "completed"
    assert outcome.run_folder == tmp_path / "pipeline_runs" / outcome.run_id == tmp_path / "pipeline_runs" / \
        doc["run_id"]
    assert doc["expected_outputs"] == SIX and types(doc) == SIX
    assert doc["current_state"] == {"stage": 4, "step": "media_generation", "progress": "6/6"}
    assert [e["filename"] for e in doc["entities"]] == [
        "01_input.txt", "02_translation.txt", "03_safety.json", "04_interception.txt", "05_safety_pre_output.json",
        "06_output_image.png"]
    assert (outcome.run_folder / "01_input.txt").read_text(encoding="utf-8") == "Ein kleiner Hund spielt im Garten"
    assert (outcome.run_folder / "02_translation.txt").read_text(encoding="utf-8") == "A small dog plays in the garden"
    interception = doc["entities"][3]["metadata"]
    assert interception["config"] == "stillepost" and interception["iterations"] == 8
    assert interception["backend_used"] == "embedded" and interception["model_used"]
    assert len(interception["chain"]) == 8
    assert all(e["metadata"]["backend"] == "embedded" for e in doc["entities"]
               if e["type"] in ("translation", "interception", "output_image"))
    assert (outcome.run_folder / "06_output_image.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((outcome.run_folder / "03_safety.json").read_text())["safe"] is True
    assert outcome.final_output == (outcome.run_folder / "04_interception.txt").read_text(encoding="utf-8")
    states = [(e.stage, e.step) for e in events if e.kind == "state"]
    assert states == [(0, "pipeline_starting"), (1, "translation_and_safety"), (2, "interception"),
                      (3, "pre_output_safety"), (4, "media_generation")]
    assert [e.entity_type for e in events if e.kind == "entity"] == SIX
    assert events[-1].kind == "status" and events[-1].status == "completed"


def test_a_text_only_config_expects_and_makes_no_media(tmp_path: Path) -> None:
    outcome = run_pipeline("haiku", "A small dog plays in the garden", "eco", "youth", base_path=tmp_path)
    doc = metadata(outcome.run_folder)
    assert outcome.status == "completed"
    assert doc["expected_outputs"] == SIX[:5] == types(doc)
    assert doc["current_state"]["progress"] == "5/5"
    assert len(outcome.final_output.splitlines()) == 3


def test_the_audio_config_records_a_wav(tmp_path: Path) -> None:
    outcome = run_pipeline("klangbild", "Vögel singen im Wald", "eco", "kids", base_path=tmp_path)
    doc = metadata(outcome.run_folder)
    assert outcome.status == "completed" and types(doc)[-1] == "output_audio"
    audio = doc["entities"][-1]
    assert audio["mime_type"] == "audio/wav" and audio["filename"].endswith(".wav")
    assert (outcome.run_folder / audio["filename"]).read_bytes()[:4] == b"RIFF"


def test_a_stage_one_block_stores_translation_safety_and_error_and_makes_no_media(tmp_path: Path) -> None:
    outcome = run_pipeline("stillepost", "S1EG H31L", "eco", "adult", base_path=tmp_path)
    doc = metadata(outcome.run_folder)
    assert outcome.status == doc["status"] == "blocked"
    assert types(doc) == ["input", "translation", "safety", "error"]
    safety = json.loads((outcome.run_folder / "03_safety.json").read_text())
    assert safety["safe"] is False and safety["codes"] == ["stgb86a:slogan"]
    error = json.loads((outcome.run_folder / "04_error.json").read_text())
    assert error["stage"] == 1 and error["error_type"] == "blocked" and "sieg heil" in error["message"]
    assert outcome.error_stage == 1 and outcome.safety == safety


def test_a_stage_three_block_stops_before_the_media(tmp_path: Path) -> None:
    outcome = run_pipeline("bildbeschreibung", "a bloody knife", "eco", "kids", base_path=tmp_path)
    doc = metadata(outcome.run_folder)
    assert outcome.status == "blocked" and outcome.error_stage == 3
    assert types(doc) == ["input", "translation", "safety", "interception", "safety_pre_output", "error"]
    assert json.loads((outcome.run_folder / "05_safety_pre_output.json").read_text())["codes"] == ["level:kids"]
    same_for_adults = run_pipeline("bildbeschreibung", "a bloody knife", "eco", "adult", base_path=tmp_path)
    assert same_for_adults.status == "completed"


def test_safety_level_off_checks_nothing_but_still_records_the_safety_entities(tmp_path: Path) -> None:
    outcome = run_pipeline("stillepost", "Sieg Heil", "eco", "off", base_path=tmp_path)
    doc = metadata(outcome.run_folder)
    assert outcome.status == "completed" and types(doc) == SIX
    assert json.loads((outcome.run_folder / "03_safety.json").read_text())["checks"] == []


def _config(**fields: Any) -> Any:
    return parse_config({"media": ["image"], **fields}, "test.yaml", "testcfg")


def test_a_backend_that_is_down_fails_the_run_with_an_error_naming_stage_and_cause(tmp_path: Path) -> None:
    down = OllamaBackend("http://127.0.0.1:9", "m", timeout=1, retries=0)
    outcome = run_pipeline(_config(), "hello", "eco", "kids", base_path=tmp_path,
                           backends=Backends(down, EmbeddedMediaBackend()))
    doc = metadata(outcome.run_folder)
    assert outcome.status == doc["status"] == "failed"
    assert types(doc) == ["input", "error"]
    error = json.loads((outcome.run_folder / "02_error.json").read_text())
    assert error["stage"] == 1 and error["error_type"] == "backend_error" and "could not connect" in error["message"]
    assert doc["current_state"]["stage"] == 1


def test_a_failing_media_backend_fails_in_stage_four(tmp_path: Path) -> None:
    class Broken(EmbeddedMediaBackend):
        def generate(self, request: Any) -> Any:
            raise RuntimeError("GPU on fire")

    outcome = run_pipeline(_config(), "hello", "eco", "kids", base_path=tmp_path,
                           backends=Backends(EmbeddedTextBackend(), Broken()))
    doc = metadata(outcome.run_folder)
    assert outcome.status == "failed" and types(doc)[-1] == "error"
    assert json.loads((outcome.run_folder / doc["entities"][-1]["filename"]).read_text())["stage"] == 4
    assert "GPU on fire" in outcome.error


def test_a_configured_ollama_server_is_used_and_named_in_the_interception(tmp_path: Path,
                                                                          ollama_server: fakes.FakeServer) -> None:
    config = _config(iterations=2, backends={"text": "ollama", "ollama": {"url": ollama_server.url,
                                                                         "model": "tiny"}})
    outcome = run_pipeline(config, "Ein Hund", "eco", "kids", base_path=tmp_path)
    doc = metadata(outcome.run_folder)
    assert outcome.status == "completed"
    assert doc["entities"][1]["metadata"]["backend"] == "ollama"
    meta = doc["entities"][3]["metadata"]
    assert (meta["backend_used"], meta["model_used"], meta["iterations"]) == ("ollama", "tiny", 2)
    assert outcome.final_output == "retold: retold: Ein dog"
    assert ollama_server.paths().count("/api/generate") == 3


def test_a_judge_that_cannot_decide_blocks_the_run(tmp_path: Path, ollama_server: fakes.FakeServer) -> None:
    def garbled(body: dict[str, Any], _: dict[str, str]) -> tuple[int, Any]:
        if "SAFE or UNSAFE" in body.get("system", ""):
            return 200, {"response": "Hmm, hard to say."}
        return 200, {"response": body["prompt"]}

    ollama_server.routes[("POST", "/api/generate")] = garbled
    config = _config(safety={"judge": True}, backends={"text": "ollama", "ollama": {"url": ollama_server.url}})
    outcome = run_pipeline(config, "a happy dog", "eco", "kids", base_path=tmp_path)
    assert outcome.status == "blocked" and outcome.error_stage == 1
    assert "undecided" in outcome.safety["codes"]


def test_a_judge_that_is_down_blocks_rather_than_fails(tmp_path: Path) -> None:
    class NoJudge(EmbeddedTextBackend):
        def judge(self, text: str, *, level: str) -> str:
            return OllamaBackend("http://127.0.0.1:9", "m", timeout=1, retries=0).judge(text, level=level)

    outcome = run_pipeline(_config(safety={"judge": True}), "a happy dog", "eco", "kids", base_path=tmp_path,
                           backends=Backends(NoJudge(), EmbeddedMediaBackend()))
    assert outcome.status == "blocked" and outcome.safety["codes"] == ["undecided"]


def test_cancel_stops_at_the_next_stage_boundary(tmp_path: Path) -> None:
    cancel = threading.Event()

    def on_event(event: RunEvent) -> None:
        if event.kind == "entity" and event.entity_type == "interception":
            cancel.set()

    outcome = run_pipeline("stillepost", "Test input", "eco", "kids", base_path=tmp_path, cancel_event=cancel,
                           progress=on_event)
    doc = metadata(outcome.run_folder)
    assert outcome.status == doc["status"] == "cancelled"
    assert types(doc) == ["input", "translation", "safety", "interception", "error"]
    error = json.loads((outcome.run_folder / "05_error.json").read_text())
    assert error["error_type"] == "cancelled" and error["stage"] == 2


def test_a_given_run_id_is_the_only_id_and_bad_arguments_write_nothing(tmp_path: Path) -> None:
    outcome = run_pipeline("haiku", "Test input", "eco", "kids", base_path=tmp_path, run_id="my-run-1",
                           user_id="alice")
    doc = metadata(tmp_path / "pipeline_runs" / "my-run-1")
    assert outcome.run_id == doc["run_id"] == "my-run-1" and doc["user_id"] == "alice"
    for mode, level, text in (("turbo", "kids", "x"), ("eco", "babies", "x"), ("eco", "kids", "  ")):
        with pytest.raises(ValidationError):
            run_pipeline("haiku", text, mode, level, base_path=tmp_path / "other")
    with pytest.raises(InvalidRunIdError):
        run_pipeline("haiku", "x", "eco", "kids", base_path=tmp_path / "other", run_id="../evil")
    assert not (tmp_path / "other").exists()


def test_fast_mode_uses_an_openai_compatible_server_from_the_environment(
        tmp_path: Path, openai_server: fakes.FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPELINE_RECORDER_OPENAI_URL", f"{openai_server.url}/v1")
    outcome = run_pipeline(ConfigCatalog().get("haiku"), "Ein Hund", "fast", "kids", base_path=tmp_path)
    assert outcome.status == "completed"
    assert metadata(outcome.run_folder)["entities"][3]["metadata"]["backend_used"] == "openai"
    assert outcome.final_output == "retold: Ein dog"
