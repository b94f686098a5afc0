"""The research fields over HTTP: created through the write route, set by hosts (models), annotated (notes and
tags, token, also after the run ended), served by /status with defaults for old runs, and filtered by the runs
listing with the same answers on both stores."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from http_servers import ADAPTERS, serve

from pipeline_recorder import LivePipelineRecorder, new_run_id, runformat
from pipeline_recorder.document import MetadataDocument
from pipeline_recorder.http.settings import Settings
from pipeline_recorder.stores import Store
from store_backends import any_store  # noqa: F401 -- runs each test on the folder and the shared store

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SETTINGS = {"config_name": "stillepost", "execution_mode": "eco", "safety_level": "kids"}


@pytest.fixture
def client(any_store: Store) -> Iterator[httpx.Client]:  # noqa: F811
    with serve("fastapi", Settings(store=any_store.url, token=TOKEN)) as url, \
            httpx.Client(base_url=url, timeout=10, headers=AUTH) as http:
        yield http


@pytest.fixture(params=ADAPTERS)
def folder_client(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) \
        -> Iterator[httpx.Client]:
    settings = Settings(base_path=tmp_path_factory.mktemp("store"), token=TOKEN)
    with serve(request.param, settings) as url, httpx.Client(base_url=url, timeout=10, headers=AUTH) as http:
        yield http


def create(client: httpx.Client, **fields: object) -> str:
    answer = client.post("/api/pipeline/runs", json={**SETTINGS, **fields})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["run_id"])


def test_a_run_created_over_http_holds_kind_session_and_device(folder_client: httpx.Client) -> None:
    run_id = create(folder_client, kind="canvas_workflow", session_id="class-4b", device_id="ws-07")
    status = folder_client.get(f"/api/pipeline/{run_id}/status").json()
    assert {key: status[key] for key in ("kind", "session_id", "device_id", "models_used", "tags", "notes")} == \
        {"kind": "canvas_workflow", "session_id": "class-4b", "device_id": "ws-07", "models_used": {}, "tags": [],
         "notes": ""}
    same = folder_client.post("/api/pipeline/runs", json={**SETTINGS, "run_id": run_id, "kind": "canvas_workflow"})
    assert same.status_code == 200
    other = folder_client.post("/api/pipeline/runs", json={**SETTINGS, "run_id": run_id, "kind": "latent_lab"})
    assert other.status_code == 409 and "kind" in other.json()["error"]


@pytest.mark.parametrize(("fields", "says"), [
    ({"kind": "Not A Kind"}, "kind must be a lower-case name"),
    ({"session_id": "a/b"}, "session_id must be null or"),
    ({"device_id": 7}, "device_id must be null or"),
])
def test_a_bad_field_in_the_create_body_is_a_400_saying_what_is_accepted(
        folder_client: httpx.Client, fields: dict[str, object], says: str) -> None:
    answer = folder_client.post("/api/pipeline/runs", json={**SETTINGS, "run_id": "r-bad", **fields})
    assert answer.status_code == 400 and says in answer.json()["error"]
    assert folder_client.get("/api/pipeline/r-bad/status").status_code == 404


def test_a_host_sets_the_model_of_a_stage(folder_client: httpx.Client) -> None:
    run_id = create(folder_client)
    answer = folder_client.put(f"/api/pipeline/{run_id}/model",
                               json={"stage_key": "stage4_output_image", "model": "comfyui/sd35_large"})
    assert answer.status_code == 200
    assert answer.json()["models_used"] == {"stage4_output_image": "comfyui/sd35_large"}
    bad = folder_client.put(f"/api/pipeline/{run_id}/model", json={"stage_key": "stage4", "model": "sd35"})
    assert bad.status_code == 400 and "'backend/model'" in bad.json()["error"]
    assert folder_client.get(f"/api/pipeline/{run_id}/status").json()["models_used"] == \
        {"stage4_output_image": "comfyui/sd35_large"}


def test_annotations_need_the_token_and_work_on_an_ended_run(folder_client: httpx.Client) -> None:
    run_id = create(folder_client)
    assert folder_client.post(f"/api/pipeline/{run_id}/finish", json={"status": "completed"}).status_code == 200
    path = f"/api/pipeline/{run_id}/annotations"
    anonymous = folder_client.put(path, json={"tags": ["zoo"]}, headers={"Authorization": ""})
    assert anonymous.status_code == 401
    answer = folder_client.put(path, json={"tags": ["zoo", "dogs"], "notes": "Lena's dog"})
    assert answer.status_code == 200
    assert answer.json() == {"run_id": run_id, "notes": "Lena's dog", "tags": ["zoo", "dogs"]}
    assert folder_client.put(path, json={"notes": "changed"}).json()["tags"] == ["zoo", "dogs"]
    status = folder_client.get(f"/api/pipeline/{run_id}/status").json()
    assert (status["notes"], status["tags"], status["status"]) == ("changed", ["zoo", "dogs"], "completed")


@pytest.mark.parametrize(("body", "says"), [
    ({}, 'send {"notes": TEXT}'),
    ({"tags": "zoo"}, "tags must be a list"),
    ({"tags": ["a,b"]}, "without commas"),
    ({"notes": "x" * 10_001}, "at most 10000"),
    ({"colour": "red"}, "unknown field(s) ['colour']"),
])
def test_bad_annotations_are_a_400_and_change_nothing(folder_client: httpx.Client, body: dict[str, object],
                                                      says: str) -> None:
    run_id = create(folder_client)
    before = folder_client.get(f"/api/pipeline/{run_id}/status").json()["revision"]
    answer = folder_client.put(f"/api/pipeline/{run_id}/annotations", json=body)
    assert answer.status_code == 400 and says in answer.json()["error"]
    assert folder_client.get(f"/api/pipeline/{run_id}/status").json()["revision"] == before


def test_annotating_an_unknown_run_is_a_404(folder_client: httpx.Client) -> None:
    assert folder_client.put("/api/pipeline/nobody/annotations", json={"notes": "x"}).status_code == 404


def test_status_of_a_run_written_before_the_fields_shows_the_defaults(any_store: Store,  # noqa: F811
                                                                      client: httpx.Client) -> None:
    run_id = new_run_id()
    header = runformat.new_header(run_id=run_id, config_name="c", execution_mode="eco", safety_level="kids",
                                  user_id="u", expected_outputs=["input"], owner={"pid": 0, "host": "elsewhere"})
    for key in ("kind", "session_id", "device_id", "models_used", "tags", "notes"):
        del header[key]
    any_store.create_run(run_id, MetadataDocument(header, []))
    status = client.get(f"/api/pipeline/{run_id}/status").json()
    assert (status["kind"], status["session_id"], status["models_used"], status["tags"], status["notes"]) == \
        ("pipeline", None, {}, [], "")
    assert "owner" not in status and "writers" not in status


def test_the_runs_listing_filters_by_kind_session_device_and_tag_on_both_stores(
        any_store: Store, client: httpx.Client) -> None:  # noqa: F811
    made = {}
    for name, fields, tags in [("plain", {}, []),
                               ("canvas", {"kind": "canvas_workflow", "session_id": "s1", "device_id": "d1"}, ["zoo"]),
                               ("lab", {"kind": "latent_lab", "session_id": "s1", "device_id": "d2"}, ["zoo", "dogs"])]:
        rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=any_store, **fields)
        if tags:
            rec.annotate(tags=tags)
        made[rec.run_id] = name

    def listed(**query: str) -> set[str]:
        answer = client.get("/api/pipeline/runs", params=query)
        assert answer.status_code == 200, answer.text
        return {made[run["run_id"]] for run in answer.json()["runs"]}

    assert listed(kind="canvas_workflow") == {"canvas"}
    assert listed(kind="pipeline") == {"plain"}
    assert listed(session_id="s1") == {"canvas", "lab"}
    assert listed(device_id="d2") == {"lab"}
    assert listed(tag="zoo") == {"canvas", "lab"}
    assert listed(tag="dogs", session_id="s1") == {"lab"}
    assert listed(tag="") == {"plain", "canvas", "lab"}  # an empty form field is no filter
    bad = client.get("/api/pipeline/runs", params={"tag": "a,b"})
    assert bad.status_code == 400 and "a tag must be" in bad.json()["error"]
    [run] = client.get("/api/pipeline/runs", params={"kind": "latent_lab"}).json()["runs"]
    assert (run["session_id"], run["device_id"], run["tags"]) == ("s1", "d2", ["zoo", "dogs"])


def test_execute_records_the_session_and_device_a_host_sends(folder_client: httpx.Client) -> None:
    body = {"schema": "haiku", "input_text": "Ein Hund", "execution_mode": "eco", "user_id": "4b",
            "session_id": "class-4b", "device_id": "ws-3"}
    answer = folder_client.post("/api/schema/pipeline/execute", json=body)
    assert answer.status_code == 200, answer.text
    status = folder_client.get(f"/api/pipeline/{answer.json()['run_id']}/status").json()
    assert (status["user_id"], status["session_id"], status["device_id"]) == ("4b", "class-4b", "ws-3")
    assert status["models_used"]["stage2_interception"].startswith("embedded/")
    bad = folder_client.post("/api/schema/pipeline/execute", json={**body, "session_id": "class 4b"})
    assert bad.status_code == 400 and "session_id must be null or" in bad.json()["error"]


def test_process_steps_are_written_and_served_like_entities(folder_client: httpx.Client) -> None:
    run_id = create(folder_client)
    text = folder_client.post(f"/api/pipeline/{run_id}/process/input", content=b"Ein kleiner Hund",
                              headers={"Content-Type": "text/plain; charset=utf-8",
                                       "Pipeline-Entity-Metadata": json.dumps({"edit": 1})})
    assert text.status_code == 201, text.text
    assert text.json()["step"]["filename"] == "prompting_process/001_input.txt"
    params = folder_client.post(f"/api/pipeline/{run_id}/process/parameters", json={"seed": 3})
    assert params.json()["step"]["sequence"] == 2
    entity = folder_client.post(f"/api/pipeline/{run_id}/entity/input", content=b"Ein Hund",
                                headers={"Content-Type": "text/plain; charset=utf-8"})
    assert entity.json()["entity"]["filename"] == "01_input.txt"  # the main entities keep their numbering
    served = folder_client.get(f"/api/pipeline/{run_id}/process/001_input.txt")
    assert served.status_code == 200 and served.text == "Ein kleiner Hund"
    as_entity = folder_client.get(f"/api/pipeline/{run_id}/file/01_input.txt")
    assert set(served.headers) - {"content-length", "date"} == set(as_entity.headers) - {"content-length", "date"}
    assert served.headers["Content-Type"] == as_entity.headers["Content-Type"]
    again = folder_client.get(f"/api/pipeline/{run_id}/process/001_input.txt",
                              headers={"If-None-Match": served.headers["ETag"]})
    assert again.status_code == 304
    ranged = folder_client.get(f"/api/pipeline/{run_id}/process/001_input.txt", headers={"Range": "bytes=0-2"})
    assert ranged.status_code == 206 and ranged.text == "Ein"
    steps = folder_client.get(f"/api/pipeline/{run_id}/status").json()["prompting_process"]
    assert [s["metadata"] for s in steps] == [{"edit": 1}, {}]
    assert folder_client.get(f"/api/pipeline/{run_id}/process/009_input.txt").status_code == 404
    bad = folder_client.get(f"/api/pipeline/{run_id}/process/..%2Fmetadata.json")
    assert bad.status_code in (400, 404)


def test_a_step_behind_a_linked_folder_is_not_served(tmp_path: Path) -> None:
    base = tmp_path / "store"
    rec = LivePipelineRecorder("r-link", "stillepost", "eco", "kids", base_path=base)
    rec.save_process_step("input", "Ein kleiner Hund")
    folder = rec.run_folder / "prompting_process"
    os.rename(folder, tmp_path / "outside")
    os.symlink(tmp_path / "outside", folder)
    with serve("fastapi", Settings(base_path=base)) as url, httpx.Client(base_url=url, timeout=10) as http:
        answer = http.get("/api/pipeline/r-link/process/001_input.txt")
    assert answer.status_code == 404 and "link" in answer.json()["error"]


def test_annotations_and_steps_over_http_on_both_stores(any_store: Store,  # noqa: F811
                                                        client: httpx.Client) -> None:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=any_store, kind="latent_lab",
                               session_id="s1")
    rec.save_process_step("input", "Ein Hund")
    rec.mark_complete()
    run_id = rec.run_id
    assert client.put(f"/api/pipeline/{run_id}/annotations", json={"tags": ["zoo"]}).status_code == 200
    assert client.get(f"/api/pipeline/{run_id}/process/001_input.txt").content == b"Ein Hund"
    status = client.get(f"/api/pipeline/{run_id}/status").json()
    assert (status["tags"], len(status["prompting_process"])) == (["zoo"], 1)
    [listed] = client.get("/api/pipeline/runs", params={"tag": "zoo", "session_id": "s1"}).json()["runs"]
    assert listed["run_id"] == run_id
