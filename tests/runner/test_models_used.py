"""models_used: the runner records, per stage, the backend and model that ran it -- the same ones the stage's
entity names in its metadata -- and session and device reach the run from the runner's arguments."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import runner_fakes as fakes

from pipeline_recorder.runner import run_pipeline
from pipeline_recorder.runner.configs import parse_config


def metadata(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "metadata.json").read_text(encoding="utf-8"))


def entity_meta(doc: dict[str, Any], entity_type: str) -> dict[str, Any]:
    return next(e["metadata"] for e in doc["entities"] if e["type"] == entity_type)


def test_each_stage_records_the_backend_and_model_its_entity_names(tmp_path: Path) -> None:
    outcome = run_pipeline("stillepost", "Ein kleiner Hund", "eco", "kids", base_path=tmp_path)
    doc = metadata(outcome.run_folder)
    translation, image = entity_meta(doc, "translation"), entity_meta(doc, "output_image")
    interception = entity_meta(doc, "interception")
    assert doc["models_used"] == {
        "stage1_translation": f"{translation['backend']}/{translation['model']}",
        "stage2_interception": f"{interception['backend_used']}/{interception['model_used']}",
        "stage4_output_image": f"{image['backend']}/{image['model']}",
    }
    assert all(value.startswith("embedded/") for value in doc["models_used"].values())


def test_a_judge_model_is_recorded_for_both_safety_stages(tmp_path: Path, ollama_server: fakes.FakeServer) -> None:
    config = parse_config({"media": ["image"], "safety": {"judge": True},
                           "backends": {"text": "ollama", "ollama": {"url": ollama_server.url, "model": "guard:7b"}}},
                          "test.yaml", "testcfg")
    outcome = run_pipeline(config, "a happy dog", "eco", "kids", base_path=tmp_path)
    doc = metadata(outcome.run_folder)
    assert outcome.status == "completed", outcome.error
    assert doc["models_used"]["stage1_safety"] == doc["models_used"]["stage3_safety"] == "ollama/guard:7b"
    assert doc["models_used"]["stage2_interception"] == "ollama/guard:7b"


def test_session_and_device_given_to_the_runner_are_in_the_run(tmp_path: Path) -> None:
    outcome = run_pipeline("haiku", "Ein Hund", "eco", "kids", base_path=tmp_path, session_id="class-4b",
                           device_id="ws-3")
    doc = metadata(outcome.run_folder)
    assert (doc["kind"], doc["session_id"], doc["device_id"]) == ("pipeline", "class-4b", "ws-3")
