"""PipelineService: request validation, waiting and background runs, the bounded queue, cancel and shutdown."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline_recorder import RecorderError, RunNotFoundError, ValidationError
from pipeline_recorder.runner import (
    Backends,
    InvalidRequestError,
    PipelineService,
    QueueFullError,
    ServiceClosedError,
    UnknownConfigError,
)
from pipeline_recorder.runner.backends import EmbeddedMediaBackend, EmbeddedTextBackend
from support import wait_until

BODY = {"schema": "stillepost", "input_text": "Test input", "execution_mode": "eco", "safety_level": "kids"}


class GatedText(EmbeddedTextBackend):
    """The embedded text backend, but translation waits until the test opens the gate."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.waiting = threading.Semaphore(0)

    def translate(self, text: str, *, target_language: str = "en") -> Any:
        self.waiting.release()
        assert self.gate.wait(20), "the test never opened the gate"
        return super().translate(text, target_language=target_language)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[PipelineService]:
    with PipelineService(tmp_path, workers=2, queue_size=8) as svc:
        yield svc


def status(service: PipelineService, run_id: str) -> dict[str, Any]:
    return service.store.read_metadata(run_id)


def test_execute_waits_and_answers_like_the_original_host(service: PipelineService) -> None:
    code, body = service.execute(dict(BODY))
    assert code == 200
    assert body["status"] == "success" and body["run_status"] == "completed"
    assert body["final_output"] and body["config_name"] == "stillepost"
    run_id = body["run_id"]
    assert body["status_url"] == f"/api/pipeline/{run_id}/status"
    assert body["outputs"] == {"output_image": f"/api/pipeline/{run_id}/entity/output_image"}
    assert status(service, run_id)["current_state"]["progress"] == "6/6"


def test_a_blocked_input_answers_403_with_the_run_id(service: PipelineService) -> None:
    code, body = service.execute({**BODY, "input_text": "Heil Hitler"})
    assert code == 403 and body["status"] == "blocked" and body["stage"] == 1
    assert body["codes"] == ["stgb86a:slogan"]
    assert status(service, body["run_id"])["status"] == "blocked"


def test_wait_false_answers_202_at_once_and_the_run_finishes_in_the_background(service: PipelineService) -> None:
    code, body = service.execute({**BODY, "wait": False, "user_id": "bob"})
    assert code == 202 and body["status"] == "accepted"
    assert set(body) >= {"run_id", "status_url", "events_url"}
    run_id = body["run_id"]
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
        _, running = svc.execute({**BODY, "wait": False})
        assert gated.waiting.acquire(timeout=20)  # the worker is inside stage 1
        _, queued = svc.execute({**BODY, "wait": False})
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
    _, first = svc.execute({**BODY, "wait": False})
    assert gated.waiting.acquire(timeout=20)
    _, second = svc.execute({**BODY, "wait": False})
    closer = threading.Thread(target=svc.shutdown)
    closer.start()
    wait_until(lambda: status(svc, second["run_id"])["status"] == "cancelled", what="the waiting run to end")
    gated.gate.set()
    closer.join(20)
    assert status(svc, first["run_id"])["status"] == "cancelled"
    with pytest.raises(ServiceClosedError):
        svc.execute(dict(BODY))
