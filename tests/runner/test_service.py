"""PipelineService: request validation, waiting and background runs, the bounded queue, cancel and shutdown."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from runner_fakes import GatedText

from pipeline_recorder import RecorderError, RunNotFoundError, ValidationError
from pipeline_recorder.runner import (
    Backends,
    InvalidRequestError,
    PipelineService,
    QueueFullError,
    ServiceClosedError,
    UnknownConfigError,
)
from pipeline_recorder.runner.backends import EmbeddedMediaBackend
from support import wait_until

BODY = {"schema": "stillepost", "input_text": "Test input", "execution_mode": "eco", "safety_level": "kids"}


@pytest.fixture
def service(tmp_path: Path) -> Iterator[PipelineService]:
    with PipelineService(tmp_path, workers=2, queue_size=8) as svc:
        yield svc


def status(service: PipelineService, run_id: str) -> dict[str, Any]:
    return service.store.read_metadata(run_id)


def test_execute_waits_and_returns_how_the_run_ended(service: PipelineService) -> None:
    outcome = service.execute(dict(BODY))
    assert outcome.status == "completed" and outcome.config_name == "stillepost" and outcome.final_output
    assert outcome.outputs == {"output_image": "06_output_image.png"}
    doc = status(service, outcome.run_id)
    assert doc["current_state"]["progress"] == "6/6"
    assert outcome.final_output == (outcome.run_folder / "04_interception.txt").read_text(encoding="utf-8")


def test_a_blocked_input_ends_blocked_with_the_codes(service: PipelineService) -> None:
    outcome = service.execute({**BODY, "input_text": "Heil Hitler"})
    assert outcome.status == "blocked" and outcome.error_stage == 1
    assert outcome.safety is not None and outcome.safety["codes"] == ["stgb86a:slogan"]
    assert status(service, outcome.run_id)["status"] == "blocked"


def test_the_service_speaks_of_runs_not_of_http(service: PipelineService) -> None:
    outcome = service.execute({**BODY, "wait": False})
    assert not isinstance(outcome, tuple)  # no status code
    assert not any("/api/" in str(value) for value in vars(outcome).values())  # and no URL
    wait_until(lambda: status(service, outcome.run_id)["status"] == "completed", what="the background run")


def test_wait_false_returns_a_running_outcome_and_the_run_finishes_in_the_background(
        service: PipelineService) -> None:
    outcome = service.execute({**BODY, "wait": False, "user_id": "bob"})
    assert outcome.status == "running"
    run_id = outcome.run_id
    assert status(service, run_id)["user_id"] == "bob"  # the run exists as soon as the answer is given
    wait_until(lambda: status(service, run_id)["status"] == "completed", what="the background run")


@pytest.mark.parametrize(("body", "message"), [
    ([1, 2], "JSON object"),
    ({"input_text": "x", "execution_mode": "eco"}, "lacks schema"),
    ({**BODY, "execution_mode": "turbo"}, "execution_mode must be one of eco, fast"),
    ({**BODY, "safety_level": "toddler"}, "safety_level must be one of kids, youth, adult, off"),
    ({**BODY, "input_text": ""}, "input_text"),
    ({**BODY, "input_text": 42}, "input_text"),
    ({**BODY, "input_text": "x" * 20_001}, "at most 20000"),
    ({**BODY, "wait": "yes"}, "wait must be true or false"),
    ({**BODY, "user_id": ""}, "user_id"),
    ({**BODY, "schema": 7}, "schema"),
])
def test_a_malformed_body_is_a_validation_error_saying_what_is_accepted(service: PipelineService, body: object,
                                                                       message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message) as caught:
        service.execute(body)
    assert isinstance(caught.value, ValidationError)
    assert not service.store.runs_dir.exists() or not list(service.store.run_ids())


def test_an_unknown_schema_is_a_lookup_error(service: PipelineService) -> None:
    with pytest.raises(UnknownConfigError, match="nosuch") as caught:
        service.execute({**BODY, "schema": "nosuch"})
    assert isinstance(caught.value, LookupError) and isinstance(caught.value, RecorderError)


def test_list_configs_names_each_config_with_its_expected_outputs(service: PipelineService) -> None:
    configs = {c["name"]: c for c in service.list_configs()}
    assert {"stillepost", "bildbeschreibung", "klangbild", "haiku"} <= set(configs)
    assert configs["haiku"]["expected_outputs"][-1] == "safety_pre_output"


def test_a_full_queue_refuses_work_and_cancel_stops_queued_and_running_runs(tmp_path: Path) -> None:
    gated = GatedText()
    svc = PipelineService(tmp_path, workers=1, queue_size=1, backends=Backends(gated, EmbeddedMediaBackend()))
    try:
        running = vars(svc.execute({**BODY, "wait": False}))
        assert gated.entered.acquire(timeout=20)  # the worker is inside stage 1
        queued = vars(svc.execute({**BODY, "wait": False}))
        with pytest.raises(QueueFullError, match="already waiting"):
            svc.execute({**BODY, "wait": False})
        assert len(list(svc.store.run_ids())) == 2  # the refused request left nothing behind

        assert svc.cancel(queued["run_id"])["status"] == "cancelled"
        doc = status(svc, queued["run_id"])
        assert doc["status"] == "cancelled" and [e["type"] for e in doc["entities"]] == ["error"]

        assert svc.cancel(running["run_id"])["status"] == "cancelling"
        gated.gate.set()
        wait_until(lambda: status(svc, running["run_id"])["status"] == "cancelled", what="the cancel")
        doc = status(svc, running["run_id"])
        assert [e["type"] for e in doc["entities"]] == ["input", "translation", "safety", "error"]
        error = json.loads((svc.store.run_folder(running["run_id"]) / "04_error.json").read_text())
        assert error["error_type"] == "cancelled" and error["stage"] == 1
        assert svc.cancel(running["run_id"])["cancel_requested"] is False
        with pytest.raises(RunNotFoundError):
            svc.cancel("no-such-run")
    finally:
        gated.gate.set()
        svc.shutdown()


def test_shutdown_cancels_waiting_runs_and_refuses_new_ones(tmp_path: Path) -> None:
    gated = GatedText()
    svc = PipelineService(tmp_path, workers=1, queue_size=4, backends=Backends(gated, EmbeddedMediaBackend()))
    first = vars(svc.execute({**BODY, "wait": False}))
    assert gated.entered.acquire(timeout=20)
    second = vars(svc.execute({**BODY, "wait": False}))
    closer = threading.Thread(target=svc.shutdown)
    closer.start()
    wait_until(lambda: status(svc, second["run_id"])["status"] == "cancelled", what="the waiting run to end")
    gated.gate.set()
    closer.join(20)
    assert status(svc, first["run_id"])["status"] == "cancelled"
    with pytest.raises(ServiceClosedError):
        svc.execute(dict(BODY))
