"""The HTTP layer turns the runner's outcomes and errors into status codes and URLs; the runner knows neither."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pipeline_recorder import errors
from pipeline_recorder.http.errors import status_for
from pipeline_recorder.http.runner_link import outcome_answer
from pipeline_recorder.runner import RunOutcome

RUNNER = Path(__file__).resolve().parents[2] / "src" / "pipeline_recorder" / "runner"


def outcome(status: str, **fields: object) -> RunOutcome:
    return RunOutcome("run-1", status, "haiku", Path("/nowhere/run-1"), **fields)  # type: ignore[arg-type]


def test_a_completed_run_is_200_with_the_urls_of_the_run_and_its_outputs() -> None:
    code, body = outcome_answer(outcome("completed", final_output="a poem", outputs={"output_image": "06.png"}))
    assert code == 200
    assert body["status"] == "success" and body["run_status"] == "completed" and body["final_output"] == "a poem"
    assert body["status_url"] == "/api/pipeline/run-1/status"
    assert body["events_url"] == "/api/pipeline/run-1/events"
    assert body["entities_url"] == "/api/pipeline/run-1/entities"
    assert body["cancel_url"] == "/api/pipeline/run-1/cancel"
    assert body["outputs"] == {"output_image": "/api/pipeline/run-1/entity/output_image"}


def test_a_run_still_running_is_202_with_its_urls() -> None:
    code, body = outcome_answer(outcome("running"))
    assert code == 202 and body["status"] == "accepted" and body["run_id"] == "run-1"
    assert body["status_url"] == "/api/pipeline/run-1/status" and "final_output" not in body


@pytest.mark.parametrize(("status", "error_type", "code", "word"), [
    ("blocked", "blocked", 403, "blocked"),
    ("cancelled", "cancelled", 409, "cancelled"),
    ("failed", "backend_error", 502, "error"),
    ("failed", "RuntimeError", 500, "error"),
])
def test_a_run_that_did_not_complete_carries_its_id_stage_and_cause(status: str, error_type: str, code: int,
                                                                     word: str) -> None:
    got, body = outcome_answer(outcome(status, error="why", error_stage=1, error_type=error_type,
                                       safety={"codes": ["stgb86a:slogan"]}))
    assert got == code
    assert body["status"] == word and body["run_id"] == "run-1" and body["stage"] == 1 and body["error"] == "why"
    assert body["status_url"] == "/api/pipeline/run-1/status"
    if status == "blocked":
        assert body["codes"] == ["stgb86a:slogan"]


@pytest.mark.parametrize(("error", "code"), [
    (errors.QueueFullError("full"), 429),
    (errors.UnknownConfigError("nosuch"), 404),
    (errors.ServiceClosedError("closing"), 503),
    (errors.BackendError("ollama", "down"), 502),
    (errors.InvalidRequestError("bad"), 400),
    (errors.ConfigError("bad file"), 400),
])
def test_runner_errors_belong_to_the_one_tree_and_map_by_class(error: errors.RecorderError, code: int) -> None:
    assert isinstance(error, errors.RecorderError)
    assert status_for(error) == code


def test_a_class_that_only_shares_a_runner_errors_name_is_not_mapped_as_one() -> None:
    impostor = type("QueueFullError", (Exception,), {})
    assert status_for(impostor("not ours")) is None  # a bug, answered 500, not a 429


def test_the_runner_package_names_no_http_status_and_builds_no_api_url() -> None:
    # Backends are HTTP clients of other servers (Ollama's /api/generate, retried 5xx): they are left out.
    for path in RUNNER.rglob("*.py"):
        if path.parent.name == "backends":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Constant) or id(node) in docstrings:
                continue
            if isinstance(node.value, str):
                assert "/api/" not in node.value, (path.name, node.value)
            elif isinstance(node.value, int) and not isinstance(node.value, bool):
                assert node.value not in (200, 202, 400, 403, 404, 409, 429, 500, 502, 503), (path.name, node.value)
