"""What an attacker tried, as a class on every changing route of both adapters: cross-site requests, bodies of
other types, hostile JSON, and ranges past the end of a file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from http_runs import completed_run, png_bytes, running_run
from http_servers import ADAPTERS, serve

from pipeline_recorder.http.routes import ROUTES, Group, url_for
from pipeline_recorder.http.settings import Settings

ALLOWED = "https://viewer.example"
RUN = {"schema": "stillepost", "input_text": "Ein kleiner Hund", "execution_mode": "eco", "wait": False}


@pytest.fixture(scope="module", params=ADAPTERS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    base = tmp_path_factory.mktemp("hardening")
    completed_run(base)
    with serve(request.param, Settings(base_path=base, cors_origins=(ALLOWED,))) as url:
        yield url, base


def run_ids(base: Path) -> set[str]:
    return {path.name for path in (base / "pipeline_runs").iterdir() if not path.name.startswith(".")}


def changing_routes(run_id: str) -> list[tuple[str, str]]:
    """(method, path) of every changing route both adapters carry, from the route table."""
    return [(r.method, url_for(r.name, **{p: run_id for p in r.params})) for r in ROUTES
            if r.changes and r.group in (Group.READ, Group.RUNNER)]


# -- cross-site requests ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [
    {"Content-Type": "text/plain", "Origin": "https://evil.example"},
    {"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://evil.example"},
    {"Content-Type": "multipart/form-data; boundary=x", "Origin": "https://evil.example"},
    {"Content-Type": "text/plain;charset=UTF-8", "Sec-Fetch-Site": "cross-site"},
])
def test_a_cross_site_simple_request_starts_no_run(server: tuple[str, Path], headers: dict[str, str]) -> None:
    url, base = server
    before = run_ids(base)
    response = httpx.post(f"{url}/api/schema/pipeline/execute", content=json.dumps(RUN), headers=headers)
    assert response.status_code in (403, 415), response.text
    assert "error" in response.json()
    assert run_ids(base) == before


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, {"Origin": "null"},
                                     {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                                     {"Origin": "http://localhost:1"}])
def test_every_changing_route_refuses_a_request_from_a_page_of_another_site(
        server: tuple[str, Path], headers: dict[str, str]) -> None:
    url, base = server
    rec = running_run(base)
    before = run_ids(base)
    for method, path in changing_routes(rec.run_id):
        response = httpx.request(method, url + path, json=RUN, headers=headers)
        assert response.status_code == 403, (path, response.text)
        assert "other sites" in response.json()["error"]
    assert run_ids(base) == before
    assert rec.get_status()["status"] == "running"  # cancel did not reach it


def test_the_servers_own_pages_and_allowed_origins_may_change_things(server: tuple[str, Path]) -> None:
    url, base = server
    own = httpx.post(f"{url}/api/schema/pipeline/execute", json=RUN,
                     headers={"Origin": url, "Sec-Fetch-Site": "same-origin"})
    assert own.status_code == 202, own.text
    allowed = httpx.post(f"{url}/api/schema/pipeline/execute", json=RUN,
                         headers={"Origin": ALLOWED, "Sec-Fetch-Site": "cross-site"})
    assert allowed.status_code == 202, allowed.text
    assert allowed.headers["access-control-allow-origin"] == ALLOWED
    assert {own.json()["run_id"], allowed.json()["run_id"]} <= run_ids(base)


def test_execute_takes_only_json_bodies(server: tuple[str, Path]) -> None:
    url, base = server
    before = run_ids(base)
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/jsonx", None):
        headers = {"Content-Type": content_type} if content_type else {}
        response = httpx.post(f"{url}/api/schema/pipeline/execute", content=json.dumps(RUN), headers=headers)
        assert response.status_code == 415, (content_type, response.text)
        assert "application/json" in response.json()["error"]
    assert run_ids(base) == before
    charset = httpx.post(f"{url}/api/schema/pipeline/execute", content=json.dumps(RUN),
                         headers={"Content-Type": "application/json; charset=utf-8"})
    assert charset.status_code == 202, charset.text


# -- hostile JSON ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "word"), [
    ("[" * 100_000 + "]" * 100_000, "deep"),
    ('{"schema": "stillepost", "input_text": "a", "input_text": "b", "execution_mode": "eco"}', "twice"),
    ('{"schema": "stillepost", "input_text": "a", "execution_mode": "eco", "x": NaN}', "NaN"),
    ('{"schema": "stillepost", "input_text": "a", "execution_mode": "eco", "x": -Infinity}', "Infinity"),
    ('{"schema": "stillepost"} {"more": 1}', "JSON"),
])
def test_hostile_json_bodies_are_a_400_saying_why(server: tuple[str, Path], body: str, word: str) -> None:
    url, base = server
    before = run_ids(base)
    response = httpx.post(f"{url}/api/schema/pipeline/execute", content=body,
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert word in response.json()["error"]
    assert run_ids(base) == before


# -- ranges ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["bytes=0-99999999999999999999999", "bytes=0-18446744073709551616",
                                    "bytes=-99999999999999999999999"])
def test_a_range_past_the_end_is_clamped_to_the_file(server: tuple[str, Path], header: str) -> None:
    url, base = server
    run_id = completed_run(base)
    response = httpx.get(f"{url}/api/pipeline/{run_id}/entity/output_image", headers={"Range": header})
    size = len(png_bytes())
    assert response.status_code == 206, response.text
    assert response.content == png_bytes()
    assert response.headers["content-range"] == f"bytes 0-{size - 1}/{size}"
