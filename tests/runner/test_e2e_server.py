"""End to end: the runner behind a real uvicorn server on a free loopback port, checked as a user would."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import runner_fakes as fakes
import uvicorn

from pipeline_recorder.http.fastapi_app import create_app
from pipeline_recorder.http.settings import Settings
from support import wait_until

CURL_BODY = {"schema": "stillepost", "input_text": "Test input", "execution_mode": "eco", "safety_level": "kids"}
TERMINAL = {"completed", "failed", "blocked", "cancelled"}


@dataclass
class Server:
    client: httpx.Client
    base: Path
    slow_llm: fakes.FakeServer

    def status(self, run_id: str) -> dict[str, Any]:
        response = self.client.get(f"/api/pipeline/{run_id}/status")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def finished(self, run_id: str) -> dict[str, Any]:
        return dict(wait_until(lambda: (doc := self.status(run_id))["status"] in TERMINAL and doc,
                               what=f"run {run_id} to end"))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("store")
    configs = tmp_path_factory.mktemp("configs")
    slow_llm = fakes.ollama()
    slow_llm.gate.clear()  # its answers wait until a test opens the gate
    (configs / "slowtext.yaml").write_text(
        f"media: [image]\nbackends: {{text: ollama, ollama: {{url: '{slow_llm.url}'}}}}\ntimeout_seconds: 30\n",
        encoding="utf-8")
    (configs / "brokentext.yaml").write_text(
        f"media: [image]\nretries: 0\nbackends: {{text: ollama, ollama: {{url: 'http://127.0.0.1:{_closed_port()}'}}}}\n",
        encoding="utf-8")
    settings = Settings(base_path=base, config_dirs=(configs,), workers=2, heartbeat_seconds=0.5)
    try:
        with serving(settings) as client:
            yield Server(client, base, slow_llm)
    finally:
        slow_llm.gate.set()
        slow_llm.close()


@contextlib.contextmanager
def serving(settings: Settings) -> Iterator[httpx.Client]:
    """The API of ``settings`` behind uvicorn on a free loopback port, and a client of it."""
    uv = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="warning",
                                       timeout_graceful_shutdown=1))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    wait_until(lambda: uv.started, what="uvicorn to start")
    port = uv.servers[0].sockets[0].getsockname()[1]
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            yield client
    finally:
        uv.should_exit = True
        thread.join(20)


def test_the_curl_request_of_the_issue_runs_stillepost_and_everything_can_be_checked(server: Server) -> None:
    response = server.client.post("/api/schema/pipeline/execute", json=CURL_BODY,
                                  headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "success" and answer["final_output"]
    run_id = answer["run_id"]

    doc = server.status(run_id)
    assert doc["run_id"] == run_id and doc["status"] == "completed"
    assert doc["config_name"] == "stillepost" and doc["execution_mode"] == "eco" and doc["safety_level"] == "kids"
    assert doc["current_state"]["progress"] == "6/6"
    assert doc["completed_outputs"] == doc["expected_outputs"] == [
        "input", "translation", "safety", "interception", "safety_pre_output", "output_image"]

    entity = server.client.get(f"/api/pipeline/{run_id}/entity/input")
    assert entity.status_code == 200 and entity.text == "Test input"
    assert entity.headers["content-type"].startswith("text/plain")
    image = server.client.get(f"/api/pipeline/{run_id}/entity/output_image")
    assert image.headers["content-type"] == "image/png" and image.content[:4] == b"\x89PNG"

    listing = server.client.get(f"/api/pipeline/{run_id}/entities").json()
    assert listing["run_id"] == run_id and listing["entity_count"] == 6
    assert listing["entities"][0]["url"] == f"/api/pipeline/{run_id}/entity/input"

    folder = server.base / "pipeline_runs" / run_id
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == [
        "01_input.txt", "02_translation.txt", "03_safety.json", "04_interception.txt", "05_safety_pre_output.json",
        "06_output_image.png", "metadata.json"]
    on_disk = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    assert on_disk["entities"][3]["metadata"]["iterations"] == 8
    assert on_disk["entities"][3]["metadata"]["backend_used"] == "embedded"


def test_the_configs_route_lists_shipped_and_added_configs(server: Server) -> None:
    names = {c["name"] for c in server.client.get("/api/schema/configs").json()["configs"]}
    assert {"stillepost", "bildbeschreibung", "klangbild", "haiku", "slowtext", "brokentext"} <= names


def test_a_blocked_input_answers_403_and_never_reaches_media(server: Server) -> None:
    response = server.client.post("/api/schema/pipeline/execute", json={**CURL_BODY, "input_text": "H e i l  8 8"})
    assert response.status_code == 403, response.text
    run_id = response.json()["run_id"]
    doc = server.status(run_id)
    assert doc["status"] == "blocked"
    assert [e["type"] for e in doc["entities"]] == ["input", "translation", "safety", "error"]
    safety = server.client.get(f"/api/pipeline/{run_id}/entity/safety").json()
    assert safety["safe"] is False and safety["codes"]
    assert server.client.get(f"/api/pipeline/{run_id}/entity/output_image").status_code == 404
    assert not list((server.base / "pipeline_runs" / run_id).glob("*output_image*"))


@pytest.mark.parametrize(("body", "code"), [
    ({**CURL_BODY, "schema": "nosuch"}, 404),
    ({**CURL_BODY, "execution_mode": "warp"}, 400),
    ({**CURL_BODY, "safety_level": "none"}, 400),
    ({"schema": "stillepost"}, 400),
])
def test_bad_requests_get_json_errors(server: Server, body: dict[str, Any], code: int) -> None:
    response = server.client.post("/api/schema/pipeline/execute", json=body)
    assert response.status_code == code
    assert response.json()["error"]


def test_a_failing_backend_ends_the_run_failed_with_an_error_entity(server: Server) -> None:
    response = server.client.post("/api/schema/pipeline/execute", json={**CURL_BODY, "schema": "brokentext"})
    assert response.status_code == 502, response.text
    run_id = response.json()["run_id"]
    assert server.status(run_id)["status"] == "failed"
    error = server.client.get(f"/api/pipeline/{run_id}/entity/error").json()
    assert error["stage"] == 1 and error["error_type"] == "backend_error" and "could not connect" in error["message"]


def test_cancel_stops_a_running_pipeline_at_the_next_stage_boundary(server: Server) -> None:
    response = server.client.post("/api/schema/pipeline/execute",
                                  json={**CURL_BODY, "schema": "slowtext", "wait": False})
    assert response.status_code == 202, response.text
    run_id = response.json()["run_id"]
    assert server.slow_llm.entered.wait(20)  # the run is inside stage 1, waiting for the model
    cancel = server.client.post(f"/api/pipeline/{run_id}/cancel")
    assert cancel.status_code == 200 and cancel.json()["status"] == "cancelling"
    server.slow_llm.gate.set()
    doc = server.finished(run_id)
    assert doc["status"] == "cancelled"
    assert [e["type"] for e in doc["entities"]][-1] == "error"
    assert "output_image" not in [e["type"] for e in doc["entities"]]
    assert server.client.post("/api/pipeline/no-such-run/cancel").status_code == 404


def test_twenty_runs_started_at_once_all_complete_without_mixing_entities(server: Server) -> None:
    texts = [f"Run {letter * 3} of twenty" for letter in "abcdefghijklmnopqrst"]

    def start(text: str) -> httpx.Response:
        return server.client.post("/api/schema/pipeline/execute",
                                  json={**CURL_BODY, "schema": "haiku", "input_text": text, "wait": False})

    with ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(start, texts))
    assert [r.status_code for r in responses] == [202] * 20
    run_ids = [r.json()["run_id"] for r in responses]
    assert len(set(run_ids)) == 20
    for run_id, text in zip(run_ids, texts, strict=True):
        doc = server.finished(run_id)
        assert doc["status"] == "completed" and doc["run_id"] == run_id
        assert [e["sequence"] for e in doc["entities"]] == [1, 2, 3, 4, 5]
        folder = server.base / "pipeline_runs" / run_id
        assert (folder / "01_input.txt").read_text(encoding="utf-8") == text
        assert (folder / "02_translation.txt").read_text(encoding="utf-8") == text
        assert text.split()[1] in (folder / "04_interception.txt").read_text(encoding="utf-8").split()
        assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == sorted(
            [e["filename"] for e in doc["entities"]] + ["metadata.json"])


@pytest.mark.parametrize("raw", [
    b'{"schema": "haiku", "input_text": "Hallo \\ud800", "execution_mode": "eco"}',
    b'{"schema": "haiku", "input_text": "x", "execution_mode": "eco", "user_id": "\\udfff"}',
    b'{"schema": "haiku", "input_text": "x", "execution_mode": "eco", "extra": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    b"[" * 200_000 + b"]" * 200_000,
])
def test_text_that_is_no_text_and_deep_nesting_get_a_400_and_record_nothing(server: Server, raw: bytes) -> None:
    before = set((server.base / "pipeline_runs").iterdir())
    response = server.client.post("/api/schema/pipeline/execute", content=raw,
                                  headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["error"]
    assert set((server.base / "pipeline_runs").iterdir()) == before


def test_a_server_minimum_safety_level_refuses_off_with_400_and_records_nothing(tmp_path: Path) -> None:
    with serving(Settings(base_path=tmp_path, min_safety_level="adult")) as client:
        refused = client.post("/api/schema/pipeline/execute", json={**CURL_BODY, "schema": "haiku",
                                                                     "safety_level": "off"})
        assert refused.status_code == 400 and "accepted are kids, youth, adult" in refused.json()["error"]
        assert not (tmp_path / "pipeline_runs").exists() or not list((tmp_path / "pipeline_runs").iterdir())
        allowed = client.post("/api/schema/pipeline/execute", json={**CURL_BODY, "schema": "haiku",
                                                                     "safety_level": "adult"})
        assert allowed.status_code == 200, allowed.text
