"""Hostile run ids, entity types and formats: a clear RecorderError, and nothing created by the bad call."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from core_helpers import snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline_recorder import (
    CorruptRunError,
    InvalidContentError,
    InvalidEntityTypeError,
    InvalidFormatError,
    InvalidRunIdError,
    LivePipelineRecorder,
    RecorderError,
    RunStore,
    ValidationError,
    get_recorder,
    load_recorder,
    new_run_id,
)
from pipeline_recorder.formats import MIME_TYPES
from pipeline_recorder.naming import ENTITY_TYPE_PATTERN, RUN_ID_PATTERN

BAD_RUN_IDS = ["../../etc", "a/b", "..", ".", "", "x" * 200, "a\0b", "\0", "-leading-dash", "_x", "a b", "a.b",
               "ü", "a\nb", "/abs", "a\\b", None, 5, b"bytes"]
BAD_TYPES = ["../x", "Input", "a b", "metadata", "", "1abc", "x" * 65, "a-b", "a.b", "a/b", "a\0", "_x", None, 3]
BAD_FORMATS = ["../png", "exe", "png/..", "sh", "", ".", "html", "p ng", "x" * 300]
ALL_OUTSIDE = "outside"


@pytest.fixture
def world(tmp_path: Path) -> Path:
    """A folder holding the store's base path and a sibling that an escape would land in."""
    (tmp_path / "store").mkdir()
    (tmp_path / ALL_OUTSIDE).mkdir()
    return tmp_path


@pytest.mark.parametrize("run_id", BAD_RUN_IDS)
def test_bad_run_ids_are_refused_everywhere_and_create_nothing(world: Path, run_id: object) -> None:
    base = world / "store"
    before = snapshot(world)
    calls = [
        lambda: LivePipelineRecorder(run_id, "c", "eco", "kids", base_path=base),  # type: ignore[arg-type]
        lambda: get_recorder(run_id, "c", "eco", "kids", base_path=base),  # type: ignore[arg-type]
        lambda: load_recorder(run_id, base_path=base),  # type: ignore[arg-type]
        lambda: RunStore(base).read_metadata(run_id),  # type: ignore[arg-type]
    ]
    for call in calls:
        with pytest.raises(InvalidRunIdError) as raised:
            call()
        assert isinstance(raised.value, RecorderError) and isinstance(raised.value, ValueError)
        assert "letters, digits" in str(raised.value)  # says what is accepted
    assert snapshot(world) == before


@pytest.mark.parametrize("entity_type", BAD_TYPES)
def test_bad_entity_types_are_refused_and_create_nothing(world: Path, entity_type: object) -> None:
    rec = LivePipelineRecorder(new_run_id(), "c", "eco", "kids", base_path=world / "store")
    rec.save_entity("input", "x")
    before = snapshot(world)
    for call in (lambda: rec.save_entity(entity_type, "x"),  # type: ignore[arg-type]
                 lambda: rec.save_entity(entity_type, b"\x89PNG\r\n\x1a\n"),  # type: ignore[arg-type]
                 lambda: rec.get_entity_path(entity_type)):  # type: ignore[arg-type]
        with pytest.raises(InvalidEntityTypeError) as raised:
            call()
        assert "entity type" in str(raised.value)
    assert snapshot(world) == before


def test_the_metadata_type_is_refused_with_the_reason(rec: LivePipelineRecorder) -> None:
    with pytest.raises(InvalidEntityTypeError, match="reserved"):
        rec.save_entity("metadata", {"x": 1})


@pytest.mark.parametrize("fmt", BAD_FORMATS)
def test_bad_formats_are_refused_and_create_nothing(world: Path, fmt: str) -> None:
    rec = LivePipelineRecorder(new_run_id(), "c", "eco", "kids", base_path=world / "store")
    before = snapshot(world)
    with pytest.raises(InvalidFormatError, match="allowed formats"):
        rec.save_entity("output_image", b"raw", {"format": fmt})
    assert snapshot(world) == before


# -- property-based -------------------------------------------------------------------------------------------

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(run_id=st.from_regex(RUN_ID_PATTERN, fullmatch=True))
def test_any_valid_run_id_gets_exactly_its_own_folder(base: Path, run_id: str) -> None:
    store_runs = base / "pipeline_runs"
    rec = get_recorder(run_id, "c", "eco", "kids", base_path=base)
    assert rec.run_folder == store_runs / run_id
    assert rec.run_folder.resolve().parent == store_runs.resolve()
    assert json.loads((rec.run_folder / "metadata.json").read_bytes())["run_id"] == run_id


@FAST
@given(run_id=st.text(max_size=140).filter(lambda s: RUN_ID_PATTERN.fullmatch(s) is None))
def test_any_other_run_id_is_refused_and_creates_nothing(tmp_path_factory: pytest.TempPathFactory,
                                                         run_id: str) -> None:
    world = tmp_path_factory.mktemp("w")
    with pytest.raises(InvalidRunIdError):
        LivePipelineRecorder(run_id, "c", "eco", "kids", base_path=world)
    with pytest.raises(InvalidRunIdError):
        load_recorder(run_id, base_path=world)
    assert list(world.iterdir()) == []


@FAST
@given(entity_type=st.one_of(st.from_regex(ENTITY_TYPE_PATTERN, fullmatch=True), st.text(max_size=70)))
def test_entity_types_are_accepted_exactly_by_the_rule(rec: LivePipelineRecorder, entity_type: str) -> None:
    valid = ENTITY_TYPE_PATTERN.fullmatch(entity_type) is not None and entity_type != "metadata"
    if not valid:
        names = set(rec.run_folder.iterdir())
        with pytest.raises(InvalidEntityTypeError):
            rec.save_entity(entity_type, "x")
        assert set(rec.run_folder.iterdir()) == names
        return
    name = rec.save_entity(entity_type, "x")
    assert re.fullmatch(rf"[0-9]{{2,}}_{entity_type}\.txt", name)
    assert rec.get_entity_path(entity_type) == rec.run_folder / name


def _round_trip(rec: LivePipelineRecorder, entity_type: str, content: object) -> tuple[bytes, dict]:
    name = rec.save_entity(entity_type, content)  # type: ignore[arg-type]
    entity = rec.get_status()["entities"][-1]
    assert entity["filename"] == name
    data = (rec.run_folder / name).read_bytes()
    assert entity["size"] == len(data)
    assert entity["sha256"] == hashlib.sha256(data).hexdigest()
    assert entity["mime_type"] == MIME_TYPES[name.rsplit(".", 1)[1]]
    return data, entity


@FAST
@given(text=st.text())
def test_any_text_round_trips_as_utf8(rec: LivePipelineRecorder, text: str) -> None:
    data, entity = _round_trip(rec, "translation", text)
    assert entity["filename"].endswith(".txt") and data.decode("utf-8") == text


@FAST
@given(data=st.binary(max_size=4096))
def test_any_bytes_round_trip_unchanged(rec: LivePipelineRecorder, data: bytes) -> None:
    stored, _ = _round_trip(rec, "output_image", data)
    assert stored == data


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@FAST
@given(value=st.one_of(st.lists(JSON_VALUES, max_size=4), st.dictionaries(st.text(max_size=8), JSON_VALUES,
                                                                             max_size=4)))
def test_any_json_value_round_trips(rec: LivePipelineRecorder, value: object) -> None:
    from pipeline_recorder.redaction import redact

    stored, entity = _round_trip(rec, "safety", value)
    # Values under secret-looking keys (hypothesis finds 'BEARER') are stored redacted: test_redaction.py.
    assert entity["filename"].endswith(".json") and json.loads(stored) == redact(value)


@FAST
@given(content=st.one_of(st.integers(), st.floats(), st.tuples(st.integers()), st.frozensets(st.integers()),
                         st.complex_numbers()))
def test_other_content_is_refused_and_the_run_is_unchanged(rec: LivePipelineRecorder, content: object) -> None:
    before = snapshot(rec.run_folder)
    with pytest.raises(InvalidContentError):
        rec.save_entity("input", content)  # type: ignore[arg-type]
    assert snapshot(rec.run_folder) == before


@FAST
@given(fmt=st.text(max_size=12))
def test_formats_are_accepted_only_from_the_allow_list(rec: LivePipelineRecorder, fmt: str) -> None:
    from pipeline_recorder.formats import FORMAT_ALIASES

    name = fmt.strip().lower().lstrip(".")
    allowed = FORMAT_ALIASES.get(name, name) in MIME_TYPES
    if not allowed:
        with pytest.raises(InvalidFormatError):
            rec.save_entity("output_image", b"raw", {"format": fmt})
        return
    stored = rec.save_entity("output_image", b"raw", {"format": fmt})
    assert stored.endswith("." + FORMAT_ALIASES.get(name, name))


LONE = "x\ud800y"  # a lone surrogate: a str Python holds, but no UTF-8 encoder (and no JSON reader) accepts


@pytest.mark.parametrize("call", [
    lambda rec: rec.save_entity("input", LONE),
    lambda rec: rec.save_entity("input", "ok", {"note": LONE}),
    lambda rec: rec.save_entity("input", "ok", {"nested": [{"deep": LONE}]}),
    lambda rec: rec.save_entity("input", "ok", {LONE: 1}),
    lambda rec: rec.save_entity("safety", {"text": LONE}),
    lambda rec: rec.set_state(1, LONE),
    lambda rec: rec.save_error(1, "backend", LONE),
    lambda rec: rec.save_error(1, LONE, "message"),
    lambda rec: rec.mark_failed(LONE),
], ids=["text", "metadata", "nested-metadata", "metadata-key", "json", "step", "error-message", "error-type",
        "reason"])
def test_a_lone_surrogate_is_refused_at_every_entrance_and_writes_nothing(
        rec: LivePipelineRecorder, call: Callable[[LivePipelineRecorder], object]) -> None:
    before = snapshot(rec.run_folder)
    with pytest.raises(ValidationError, match=r"surrogate|UTF-8"):
        call(rec)
    assert snapshot(rec.run_folder) == before


@pytest.mark.parametrize("setting", ["config_name", "execution_mode", "safety_level", "user_id"])
def test_a_lone_surrogate_in_a_setting_is_refused_before_the_run_is_made(base: Path, setting: str) -> None:
    settings_ = {"config_name": "c", "execution_mode": "eco", "safety_level": "kids", "user_id": "u", setting: LONE}
    with pytest.raises(ValidationError, match=f"{setting} must be valid Unicode text: character 1"):
        LivePipelineRecorder(new_run_id(), base_path=base, **settings_)
    assert not (base / "pipeline_runs").exists()


def test_a_stored_document_holding_a_lone_surrogate_reads_as_that_runs_problem(rec: LivePipelineRecorder) -> None:
    path = rec.run_folder / "metadata.json"
    path.write_bytes(path.read_bytes().replace(b'"user_id": "anonymous"', b'"user_id": "\\udc00"'))
    with pytest.raises(CorruptRunError, match="not valid Unicode: 'user_id': character 0"):
        RunStore(rec.run_folder.parent.parent).read_metadata(rec.run_id)
