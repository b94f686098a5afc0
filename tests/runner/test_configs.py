"""Configs are data: shipped ones found from any directory, extra folders override, bad files named clearly."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from pipeline_recorder.runner.configs import ConfigCatalog
from pipeline_recorder.runner.errors import ConfigError, UnknownConfigError
from pipeline_recorder.runner.stages import STAGES

SIX = ["input", "translation", "safety", "interception", "safety_pre_output", "output_image"]


def test_the_stage_list_is_the_one_of_the_design() -> None:
    assert [(s.number, s.name) for s in STAGES] == [
        (0, "pipeline_starting"), (1, "translation_and_safety"), (2, "interception"), (3, "pre_output_safety"),
        (4, "media_generation")]
    assert STAGES[1].entities == ("translation", "safety")


def test_shipped_configs_cover_telephone_image_audio_and_text_only() -> None:
    catalog = ConfigCatalog()
    stillepost = catalog.get("stillepost")
    assert stillepost.iterations == 8
    assert stillepost.expected_outputs() == SIX
    media = {name: catalog.get(name).media for name in catalog.names()}
    assert ("image",) in media.values() and ("audio",) in media.values() and () in media.values()
    text_only = next(name for name, kinds in media.items() if kinds == ())
    assert not any(t.startswith("output_") for t in catalog.get(text_only).expected_outputs())
    assert "output_audio" in catalog.get("klangbild").expected_outputs()


def test_shipped_configs_are_found_from_any_working_directory(tmp_path: Path) -> None:
    code = "from pipeline_recorder.runner import ConfigCatalog; print(' '.join(ConfigCatalog().names()))"
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert "stillepost" in done.stdout.split()


def test_an_extra_folder_adds_configs_and_overrides_shipped_ones(tmp_path: Path) -> None:
    (tmp_path / "stillepost.yaml").write_text("iterations: 3\nmedia: [audio]\n", encoding="utf-8")
    (tmp_path / "mine.json").write_text(json.dumps({"description": "mine", "media": []}), encoding="utf-8")
    catalog = ConfigCatalog([tmp_path])
    assert catalog.get("stillepost").iterations == 3
    assert catalog.get("stillepost").media == ("audio",)
    assert catalog.get("mine").description == "mine"
    assert {"name": "mine"}.items() <= catalog.summaries()[catalog.names().index("mine")].items()


@pytest.mark.parametrize(("filename", "text", "field"), [
    ("a.yaml", "iterations: zero\n", "iterations"),
    ("b.yaml", "iterations: 0\n", "iterations"),
    ("c.yaml", "media: [smell]\n", "media"),
    ("d.yaml", "iteratons: 3\n", "iteratons"),
    ("e.yaml", "backends: {text: gpt}\n", "backends.text"),
    ("f.json", '{"backends": {"ollama": {"url": "ftp://x"}}}', "backends.ollama.url"),
    ("g.yaml", "name: 'Bad Name!'\n", "name"),
    ("h.yaml", "backends: {comfyui: {workflow: missing.workflow.json}}\n", "backends.comfyui.workflow"),
    ("i.yaml", "image: {width: 99999}\n", "image.width"),
])
def test_a_malformed_config_names_the_file_and_the_field(tmp_path: Path, filename: str, text: str,
                                                         field: str) -> None:
    (tmp_path / filename).write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        ConfigCatalog([tmp_path])
    assert filename in str(caught.value)
    assert f"'{field}'" in str(caught.value)


@pytest.mark.parametrize("text", ["iterations: [1\n", "- just\n- a list\n"])
def test_an_unparseable_config_names_the_file(tmp_path: Path, text: str) -> None:
    (tmp_path / "broken.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.yaml"):
        ConfigCatalog([tmp_path])


def test_a_missing_config_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        ConfigCatalog([tmp_path / "nope"])


def test_an_unknown_config_name_lists_the_known_ones() -> None:
    with pytest.raises(UnknownConfigError, match="stillepost") as caught:
        ConfigCatalog().get("nosuch")
    assert isinstance(caught.value, LookupError)


def test_the_librarys_lookup_of_expected_outputs_agrees_with_every_shipped_config() -> None:
    from pipeline_recorder.known_configs import known_expected_outputs

    catalog = ConfigCatalog()
    lookup = json.loads(resources.files("pipeline_recorder").joinpath(
        "configs", "expected_outputs.lookup.json").read_text(encoding="utf-8"))["expected_outputs"]
    assert set(lookup) == set(catalog.names())
    for name in catalog.names():
        assert known_expected_outputs(name) == catalog.get(name).expected_outputs(), name


def test_a_recorder_of_a_known_config_expects_that_configs_outputs(tmp_path: Path) -> None:
    from pipeline_recorder import LivePipelineRecorder, get_recorder

    haiku = get_recorder("host-haiku-run", "haiku", "eco", "kids", base_path=tmp_path)
    assert haiku.get_status()["expected_outputs"] == ["input", "translation", "safety", "interception",
                                                     "safety_pre_output"]
    for entity_type in ("input", "translation", "safety", "interception", "safety_pre_output"):
        haiku.save_entity(entity_type, "x" if entity_type != "safety" else {"safe": True})
    assert haiku.get_status()["current_state"]["progress"] == "5/5"  # a text-only run can reach its end
    audio = LivePipelineRecorder("host-audio-run", "klangbild", "eco", "kids", base_path=tmp_path)
    assert audio.get_status()["expected_outputs"][-1] == "output_audio"
    own = LivePipelineRecorder("host-own-run", "my-own-pipeline", "eco", "kids", base_path=tmp_path)
    assert own.get_status()["expected_outputs"][-1] == "output_image"  # an unknown name: the default
    given = LivePipelineRecorder("host-given-run", "haiku", "eco", "kids", base_path=tmp_path,
                                 expected_outputs=["input", "output_text"])
    assert given.get_status()["expected_outputs"] == ["input", "output_text"]  # a given list always wins
    for recorder in (haiku, audio, own, given):
        recorder.close()


def test_a_lookup_file_in_a_config_folder_is_not_read_as_a_config(tmp_path: Path) -> None:
    (tmp_path / "notes.lookup.json").write_text('{"anything": 1}', encoding="utf-8")
    assert "notes" not in ConfigCatalog([tmp_path]).names()
