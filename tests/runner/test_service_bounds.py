"""PipelineService under hostile bodies and busy workers: nothing bad is recorded, nothing waits on pipeline work."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from runner_fakes import GatedText

from pipeline_recorder import ValidationError
from pipeline_recorder.http.settings import SAFETY_LEVELS as HTTP_SAFETY_LEVELS
from pipeline_recorder.http.settings import Settings
from pipeline_recorder.runner import SAFETY_LEVELS, Backends, InvalidRequestError, PipelineService, run_pipeline
from pipeline_recorder.runner.backends import EmbeddedMediaBackend
from pipeline_recorder.runner.configs import parse_config
from pipeline_recorder.stores.folder import FolderStore
from support import wait_until

BODY = {"schema": "haiku", "input_text": "Test input", "execution_mode": "eco", "safety_level": "kids"}


@pytest.fixture
def service(tmp_path: Path) -> Iterator[PipelineService]:
    with PipelineService(tmp_path, workers=1, queue_size=4) as svc:
        yield svc


def nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def run_count(service: PipelineService) -> int:
    return len(list(service.store.run_ids())) if service.store.runs_dir.exists() else 0


# -- strings that are no text, and nesting: refused before a run exists ----------------------------------------------

@pytest.mark.parametrize(("body", "where"), [
    ({**BODY, "input_text": "Hallo \ud800 Welt"}, "input_text"),
    ({**BODY, "input_text": "\udfff"}, "input_text"),
    ({**BODY, "note": {"deep": ["ok", "\ud83d"]}}, "note.deep[1]"),
    ({**BODY, "\udc00key": 1}, "the key of"),
    ({**BODY, "schema": "haiku\ud800"}, "schema"),
])
def test_a_lone_surrogate_anywhere_in_the_body_is_refused_before_a_run_exists(
        service: PipelineService, body: dict[str, Any], where: str) -> None:
    with pytest.raises(InvalidRequestError, match="lone surrogate") as caught:
        service.execute(body)
    assert where in str(caught.value)
    assert run_count(service) == 0
    str(caught.value).encode("utf-8")  # the message itself is text a JSON answer can carry


@pytest.mark.parametrize("field", ["note", "user_id", "schema", "input_text", "pace_ms"])
def test_deep_nesting_in_any_field_is_a_clear_error_not_a_crash(service: PipelineService, field: str) -> None:
    with pytest.raises(InvalidRequestError, match="nests deeper"):
        service.execute({**BODY, field: nested(50_000)})
    assert run_count(service) == 0


def test_a_nested_value_in_a_checked_field_is_described_by_its_type(service: PipelineService) -> None:
    with pytest.raises(InvalidRequestError, match=r"user_id must be .* got a list"):
        service.execute({**BODY, "user_id": nested(10)})


def test_run_pipeline_refuses_a_lone_surrogate_before_writing(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="lone surrogate"):
        run_pipeline("haiku", "a \ud800", "eco", "kids", base_path=tmp_path)
    assert not (tmp_path / "pipeline_runs").exists() or not list((tmp_path / "pipeline_runs").iterdir())


# -- the lowest safety level a server allows -------------------------------------------------------------------------

def test_a_server_minimum_refuses_less_strict_levels_and_accepts_stricter_ones(tmp_path: Path) -> None:
    with PipelineService(tmp_path, min_safety_level="youth") as svc:
        for level in ("adult", "off"):
            with pytest.raises(InvalidRequestError, match="accepted are kids, youth"):
                svc.execute({**BODY, "safety_level": level})
        assert run_count(svc) == 0
        assert svc.execute({**BODY, "safety_level": "youth"}).status == "completed"
        assert svc.execute({**BODY, "safety_level": "kids"}).status == "completed"


def test_without_a_minimum_every_level_is_accepted(service: PipelineService) -> None:
    assert service.execute({**BODY, "safety_level": "off"}).status == "completed"


def test_the_minimum_comes_from_the_environment_and_a_bad_one_stops_the_server_starting() -> None:
    assert Settings.from_env({"PIPELINE_RECORDER_MIN_SAFETY_LEVEL": "adult"}).min_safety_level == "adult"
    assert Settings.from_env({}).min_safety_level == "off"
    with pytest.raises(ValidationError, match=r"PIPELINE_RECORDER_MIN_SAFETY_LEVEL\) must be one of kids"):
        Settings.from_env({"PIPELINE_RECORDER_MIN_SAFETY_LEVEL": "toddler"})
    with pytest.raises(ValidationError, match="kids, youth, adult, off"):
        PipelineService(".", min_safety_level="toddler")


def test_the_http_settings_know_the_runners_levels_in_its_order() -> None:
    assert HTTP_SAFETY_LEVELS == SAFETY_LEVELS


# -- a busy runner: cancel and listing never wait; waiting is bounded -----------------------------------------------

def test_cancel_and_listing_answer_while_every_worker_waits_on_a_backend(tmp_path: Path) -> None:
    gated = GatedText()
    svc = PipelineService(tmp_path, workers=1, queue_size=4, backends=Backends(gated, EmbeddedMediaBackend()))
    waiter_result: list[Any] = []
    try:
        running = svc.execute({**BODY, "wait": False})
        assert gated.entered.acquire(timeout=20)  # the only worker is inside the backend, and stays there
        waiter = threading.Thread(target=lambda: waiter_result.append(svc.execute(dict(BODY))))
        waiter.start()  # a caller waiting for a queued run holds its own thread, nothing of the service
        wait_until(lambda: run_count(svc) == 2, what="the waiting request's run to exist")

        # Still inside the backend: every one of these answers now, the gate is still shut.
        assert {c["name"] for c in svc.list_configs()} >= {"haiku", "stillepost"}
        queued_id = next(i for i in svc.store.run_ids() if i != running.run_id)
        assert svc.cancel(queued_id)["status"] == "cancelled"
        assert svc.cancel(running.run_id)["status"] == "cancelling"
        assert not gated.gate.is_set()

        waiter.join(20)
        assert [o.status for o in waiter_result] == ["cancelled"]  # the waiting caller hears of the cancel
        gated.gate.set()
        wait_until(lambda: svc.store.read_metadata(running.run_id)["status"] == "cancelled", what="the cancel")
    finally:
        gated.gate.set()
        svc.shutdown()


def test_waiting_is_bounded_and_past_the_bound_the_run_is_reported_running(tmp_path: Path) -> None:
    gated = GatedText()
    svc = PipelineService(tmp_path, workers=1, queue_size=4, backends=Backends(gated, EmbeddedMediaBackend()),
                          max_wait_seconds=0.0)
    try:
        outcome = svc.execute(dict(BODY))  # asks to wait; the run cannot end while the gate is shut
        assert outcome.status == "running" and outcome.final_output is None
        assert svc.store.read_metadata(outcome.run_id)["status"] == "running"
        gated.gate.set()
        wait_until(lambda: svc.store.read_metadata(outcome.run_id)["status"] == "completed",
                   what="the run to go on in the background and complete")
    finally:
        gated.gate.set()
        svc.shutdown()


@pytest.mark.parametrize("bad", [-1.0, 3601.0])
def test_the_wait_bound_is_itself_bounded(tmp_path: Path, bad: float) -> None:
    with pytest.raises(ValidationError, match="max_wait_seconds"):
        PipelineService(tmp_path, max_wait_seconds=bad)


# -- pacing -----------------------------------------------------------------------------------------------------------

def test_a_paced_run_pauses_after_each_entity(tmp_path: Path) -> None:
    pauses: list[float] = []
    outcome = run_pipeline("haiku", "Test input", "eco", "kids", base_path=tmp_path, pace_ms=250,
                           pause=pauses.append)
    assert outcome.status == "completed"
    entities = len(svc_doc(tmp_path, outcome.run_id)["entities"])
    assert pauses == [0.25] * entities


def test_an_unpaced_run_never_pauses(tmp_path: Path) -> None:
    pauses: list[float] = []
    run_pipeline("haiku", "Test input", "eco", "kids", base_path=tmp_path, pause=pauses.append)
    assert pauses == []


def test_a_config_sets_the_pace_and_a_request_overrides_it(tmp_path: Path) -> None:
    config = parse_config({"name": "slowhaiku", "style": "haiku", "pace_ms": 400}, "test.yaml", "slowhaiku")
    assert config.pace_ms == 400 and config.summary()["pace_ms"] == 400
    pauses: list[float] = []
    run_pipeline(config, "Test input", "eco", "kids", base_path=tmp_path, pause=pauses.append)
    assert set(pauses) == {0.4}
    pauses.clear()
    run_pipeline(config, "Test input", "eco", "kids", base_path=tmp_path, pause=pauses.append, pace_ms=0)
    assert pauses == []


@pytest.mark.parametrize("bad", [-1, 10_001, "fast", True, 1.5, [100]])
def test_a_pace_outside_the_bounds_is_refused(service: PipelineService, bad: object) -> None:
    with pytest.raises(InvalidRequestError, match="pace_ms must be an integer from 0 to 10000"):
        service.execute({**BODY, "pace_ms": bad})
    assert run_count(service) == 0


def test_a_config_pace_outside_the_bounds_names_the_field() -> None:
    with pytest.raises(ValidationError, match="field 'pace_ms'"):
        parse_config({"pace_ms": 20_000}, "x.yaml", "x")


def test_a_request_pace_reaches_the_run(service: PipelineService) -> None:
    outcome = service.execute({**BODY, "pace_ms": 1})
    assert outcome.status == "completed"


def svc_doc(base: Path, run_id: str) -> dict[str, Any]:
    return FolderStore(base).read_metadata(run_id)
