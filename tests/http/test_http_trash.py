"""The trash routes over real servers: both adapters on the folder store, and the FastAPI server on the shared
store. A trashed run answers 404 on every read route and leaves the listing; restore brings it back; a running run
is refused with 409; a selection answers per run; the token guards every change."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from http_runs import completed_run
from http_servers import serve

from pipeline_recorder import LivePipelineRecorder, new_run_id
from pipeline_recorder.http.settings import Settings
from pipeline_recorder.stores import Store, open_store
from shared_backend import shared_store

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(params=[("fastapi", "folder"), ("flask", "folder"), ("fastapi", "s3")], ids="-".join)
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[httpx.Client, Store]]:
    adapter, kind = request.param
    with contextlib.ExitStack() as stack:
        if kind == "s3":
            store = stack.enter_context(shared_store(tmp_path))
            settings = Settings(base_path=tmp_path, store=store.url, token=TOKEN)
        else:
            store = stack.enter_context(contextlib.closing(open_store(str(tmp_path / "store"))))
            settings = Settings(base_path=tmp_path / "store", token=TOKEN)
        url = stack.enter_context(serve(adapter, settings))
        client = stack.enter_context(httpx.Client(base_url=url, timeout=10))
        yield client, store


def read_routes(run_id: str) -> list[str]:
    return [f"/api/pipeline/{run_id}/{tail}" for tail in
            ("status", "entities", "entity/input", "file/01_input.txt", "events", "export")]


def listed(client: httpx.Client) -> list[str]:
    answer = client.get("/api/pipeline/runs", headers=AUTH)
    assert answer.status_code == 200
    return [run["run_id"] for run in answer.json()["runs"]]


def test_a_deleted_run_answers_404_everywhere_until_it_is_restored(server: tuple[httpx.Client, Store]) -> None:
    client, store = server
    run_id, other = completed_run(store), completed_run(store)
    assert all(client.get(path, headers=AUTH).status_code == 200 for path in read_routes(run_id)[:4])
    answer = client.delete(f"/api/pipeline/{run_id}", headers=AUTH)
    assert (answer.status_code, answer.json()) == (200, {"run_id": run_id, "in_trash": True})
    for path in read_routes(run_id):
        got = client.get(path, headers=AUTH)
        assert got.status_code == 404, path
        assert "not found" in got.json()["error"]
    assert listed(client) == [other]
    trash = client.get("/api/pipeline/trash", headers=AUTH).json()["runs"]
    assert [(run["run_id"], run["status"]) for run in trash] == [(run_id, "completed")]
    assert "trashed_at" in trash[0]
    assert client.delete(f"/api/pipeline/{run_id}", headers=AUTH).status_code == 404
    answer = client.post(f"/api/pipeline/{run_id}/restore", headers=AUTH)
    assert (answer.status_code, answer.json()) == (200, {"run_id": run_id, "in_trash": False})
    assert client.get(f"/api/pipeline/{run_id}/entity/input").text == "Ein kleiner Hund"
    assert sorted(listed(client)) == sorted([run_id, other])
    assert client.get("/api/pipeline/trash", headers=AUTH).json() == {"runs": []}
    assert client.post(f"/api/pipeline/{run_id}/restore", headers=AUTH).status_code == 404


def test_a_running_run_is_refused_with_409_and_stays(server: tuple[httpx.Client, Store]) -> None:
    client, store = server
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=store)
    rec.set_state(0, "pipeline_starting")
    answer = client.delete(f"/api/pipeline/{rec.run_id}", headers=AUTH)
    assert answer.status_code == 409
    assert "still running" in answer.json()["error"]
    assert client.get(f"/api/pipeline/{rec.run_id}/status").status_code == 200
    rec.mark_complete()
    assert client.delete(f"/api/pipeline/{rec.run_id}", headers=AUTH).status_code == 200


def test_a_selection_answers_per_run(server: tuple[httpx.Client, Store]) -> None:
    client, store = server
    done = completed_run(store)
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=store)
    unknown = new_run_id()
    answer = client.post("/api/pipeline/runs/delete", headers=AUTH, json={"run_ids": [done, rec.run_id, unknown]})
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert [(r["run_id"], r["status"]) for r in results] == [(done, 200), (rec.run_id, 409), (unknown, 404)]
    assert "still running" in results[1]["error"]
    answer = client.post("/api/pipeline/runs/restore", headers=AUTH, json={"run_ids": [done, unknown]})
    assert [(r["run_id"], r["status"]) for r in answer.json()["results"]] == [(done, 200), (unknown, 404)]
    assert client.get(f"/api/pipeline/{done}/status").status_code == 200


@pytest.mark.parametrize("body", [{}, {"run_ids": []}, {"run_ids": "abc"}, {"run_ids": ["../x"]},
                                  {"run_ids": ["a"] * 201}, {"run_ids": ["a"], "more": 1}])
def test_a_malformed_selection_is_a_400_that_says_what_is_accepted(server: tuple[httpx.Client, Store],
                                                                   body: dict[str, object]) -> None:
    client, _ = server
    answer = client.post("/api/pipeline/runs/delete", headers=AUTH, json=body)
    assert answer.status_code == 400
    assert answer.json()["error"]


def test_every_trash_route_needs_the_token_and_refuses_cross_site(server: tuple[httpx.Client, Store]) -> None:
    client, store = server
    run_id = completed_run(store)
    for method, path, body in (("DELETE", f"/api/pipeline/{run_id}", None),
                               ("POST", f"/api/pipeline/{run_id}/restore", None),
                               ("POST", "/api/pipeline/runs/delete", {"run_ids": [run_id]}),
                               ("POST", "/api/pipeline/runs/restore", {"run_ids": [run_id]}),
                               ("GET", "/api/pipeline/trash", None)):
        assert client.request(method, path, json=body).status_code == 401, path
        if method != "GET":
            cross = client.request(method, path, json=body, headers={**AUTH, "Sec-Fetch-Site": "cross-site"})
            assert cross.status_code == 403, path
    assert client.get(f"/api/pipeline/{run_id}/status").status_code == 200  # nothing was deleted
