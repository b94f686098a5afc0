"""The runner routes and the export on both adapters, end to end: execute a shipped pipeline, follow it live,
cancel, export."""

from __future__ import annotations

import io
import zipfile

from http_runs import metadata
from http_servers import Live
from http_sse import SSEReader

BODY = {"schema": "stillepost", "input_text": "Ein kleiner Hund", "execution_mode": "eco", "safety_level": "kids"}


def test_configs_are_listed_under_a_configs_key(live: Live) -> None:
    response = live.client.get("/api/schema/configs")
    assert response.status_code == 200
    names = [config["name"] for config in response.json()["configs"]]
    assert "stillepost" in names


def test_execute_runs_a_pipeline_whose_run_the_api_then_serves(live: Live) -> None:
    response = live.client.post("/api/schema/pipeline/execute", json=BODY)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "success"
    run_id = answer["run_id"]
    status = live.client.get(f"/api/pipeline/{run_id}/status").json()
    stored = {key: value for key, value in metadata(live.base, run_id).items() if key not in ("owner", "writers")}
    assert status["status"] == "completed" and status == stored
    image = live.client.get(answer["outputs"]["output_image"])
    assert image.status_code == 200 and image.headers["content-type"].startswith("image/")


def test_execute_without_waiting_answers_202_and_the_events_follow_the_run_to_its_end(live: Live) -> None:
    response = live.client.post("/api/schema/pipeline/execute", json={**BODY, "wait": False})
    assert response.status_code == 202, response.text
    run_id = response.json()["run_id"]
    reader = SSEReader(f"{live.url}/api/pipeline/{run_id}/events").start()
    reader.join()
    assert reader.kinds()[-1] == "end" and reader.events[-1].data == {"status": "completed"}
    entities = [e.data for e in reader.events if e.event == "entity"]
    assert entities == metadata(live.base, run_id)["entities"]


def test_execute_with_a_bad_body_or_unknown_config_says_what_is_wrong(live: Live) -> None:
    missing = live.client.post("/api/schema/pipeline/execute", json={"schema": "stillepost"})
    assert missing.status_code == 400 and "input_text" in missing.json()["error"]
    unknown = live.client.post("/api/schema/pipeline/execute", json={**BODY, "schema": "no_such_config"})
    assert unknown.status_code == 404 and "no_such_config" in unknown.json()["error"]
    not_object = live.client.post("/api/schema/pipeline/execute", json=[1, 2])
    assert not_object.status_code == 400


def test_cancel_of_an_ended_run_reports_it_ended_and_of_an_unknown_run_is_404(live: Live) -> None:
    ended = live.client.post(f"/api/pipeline/{live.run_id}/cancel")
    assert ended.status_code == 200
    assert ended.json()["cancel_requested"] is False and ended.json()["status"] == "completed"
    assert live.client.post("/api/pipeline/no-such-run/cancel").status_code == 404


def test_export_streams_a_zip_holding_the_run(live: Live) -> None:
    response = live.client.get(f"/api/pipeline/{live.run_id}/export")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"] == f'attachment; filename="{live.run_id}.zip"'
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert any(name.endswith("metadata.json") for name in names)
    assert any(name.endswith("05_output_image.png") for name in names)
    assert live.client.get("/api/pipeline/no-such-run/export").status_code == 404
