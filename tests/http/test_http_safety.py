"""Hostile input on both adapters: a path-traversal matrix over every route with a run id, type or filename, links
planted in and as run folders, the token, CORS when configured, and the viewer routes (FastAPI only)."""

from __future__ import annotations

import http.client
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from http_runs import completed_run, metadata
from http_servers import ADAPTERS, serve

from pipeline_recorder.http.settings import Settings

SECRET = "TOP-SECRET-OUTSIDE-THE-STORE"
PASSWD_MARK = "root:x:0:0"

PAYLOADS = [
    "..", "%2e%2e", "%2e%2e%2f", "..%2f..%2f..%2fetc%2fpasswd", "%2e%2e%2f%2e%2e%2fsecret.txt",
    "%252e%252e%252f", "%252e%252e%252fsecret.txt", "..%5c..%5csecret.txt", "..\\..\\secret.txt",
    "%2fetc%2fpasswd", "//etc/passwd", "%00", "x%00.txt", "01_input.txt%00.png", "%c0%ae%c0%ae%c0%af",
    "%c0%ae%c0%ae/secret.txt", "%e0%80%ae%e0%80%ae", "....//....//secret.txt", "linkedrun", "C:%5cWindows",
    "%ff", "a%0d%0aSet-Cookie:x", "~", ".", "%2e", ".metadata", "metadata", "metadata.json",
]


class Store:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.base = root / "store"
        outside = root / "outside"
        outside.mkdir()
        (outside / "secret.txt").write_text(SECRET)
        (root / "secret.txt").write_text(SECRET)
        self.run_id = completed_run(self.base)
        folder = self.base / "pipeline_runs" / self.run_id
        # A link planted inside a run folder, listed in its metadata as if it were an entity.
        (folder / "01_input.txt").unlink()
        os.symlink("/etc/passwd", folder / "01_input.txt")
        os.symlink(outside / "secret.txt", folder / "90_leak.txt")
        doc = metadata(self.base, self.run_id)
        doc["entities"].append({**doc["entities"][0], "sequence": 90, "type": "leak", "filename": "90_leak.txt"})
        (folder / "metadata.json").write_text(json.dumps(doc))
        # A whole run folder that is a link to a folder outside the store.
        fake = outside / "fake_run"
        shutil.copytree(self.base / "pipeline_runs" / completed_run(self.base), fake)
        fake_doc = json.loads((fake / "metadata.json").read_text())
        fake_doc["run_id"] = "linkedrun"
        (fake / "metadata.json").write_text(json.dumps(fake_doc))
        (fake / "02_translation.txt").write_text(SECRET)
        os.symlink(fake, self.base / "pipeline_runs" / "linkedrun")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return Store(tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="module", params=ADAPTERS)
def hostile_url(request: pytest.FixtureRequest, hostile: Store) -> Iterator[tuple[str, str]]:
    with serve(request.param, Settings(base_path=hostile.base, heartbeat_seconds=0.3)) as url:
        yield request.param, url


def raw_request(url: str, method: str, path: str) -> tuple[int, bytes]:
    """Send ``path`` byte for byte (no client-side normalisation of '..' or escapes)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        conn.putheader("Content-Length", "0")
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def routes(run_id: str, adapter: str) -> list[tuple[str, str]]:
    found = [("GET", "/api/pipeline/{x}/status"), ("GET", "/api/pipeline/{x}/entities"),
             ("GET", "/api/pipeline/{x}/events"), ("GET", "/api/pipeline/{x}/export"),
             ("GET", "/api/pipeline/{x}/entity/input"), ("GET", "/api/pipeline/{x}/file/01_input.txt"),
             ("POST", "/api/pipeline/{x}/cancel"),
             ("PUT", "/api/pipeline/{x}/state"), ("POST", "/api/pipeline/{x}/entity/input"),
             ("POST", "/api/pipeline/{x}/error"), ("POST", "/api/pipeline/{x}/finish"),
             ("POST", "/api/pipeline/{x}/lease"), ("POST", f"/api/pipeline/{run_id}/entity/{{x}}"),
             ("GET", f"/api/pipeline/{run_id}/entity/{{x}}"), ("GET", f"/api/pipeline/{run_id}/file/{{x}}")]
    if adapter == "fastapi":
        found += [("GET", "/runs/{x}"), ("GET", "/static/{x}")]
    return found


def test_traversal_matrix_never_serves_anything_outside_the_store_and_never_500(
        hostile: Store, hostile_url: tuple[str, str]) -> None:
    adapter, url = hostile_url
    outside = hostile.root / "outside"
    before = {path: path.read_bytes() for path in outside.rglob("*") if path.is_file()}
    tried = 0
    for method, template in routes(hostile.run_id, adapter):
        for payload in PAYLOADS:
            status, body = raw_request(url, method, template.replace("{x}", payload))
            tried += 1
            where = f"{method} {template} with {payload!r}: {status}"
            assert status < 500, where
            assert SECRET.encode() not in body and PASSWD_MARK.encode() not in body, where
    assert tried >= 250
    # Nothing was written outside the store, nor through the run folder that is a link out of it.
    assert {path: path.read_bytes() for path in outside.rglob("*") if path.is_file()} == before


def test_links_planted_in_a_run_folder_are_not_followed(hostile: Store, hostile_url: tuple[str, str]) -> None:
    _, url = hostile_url
    with httpx.Client(base_url=url) as client:
        for path in (f"/api/pipeline/{hostile.run_id}/entity/input", f"/api/pipeline/{hostile.run_id}/entity/leak",
                     f"/api/pipeline/{hostile.run_id}/file/01_input.txt",
                     f"/api/pipeline/{hostile.run_id}/file/90_leak.txt"):
            response = client.get(path)
            assert response.status_code == 404, path
            assert SECRET not in response.text and PASSWD_MARK not in response.text
        # The rest of the run is still served.
        assert client.get(f"/api/pipeline/{hostile.run_id}/entity/safety").status_code == 200


def test_a_run_folder_that_is_a_link_out_of_the_store_is_not_a_run(hostile: Store,
                                                                    hostile_url: tuple[str, str]) -> None:
    _, url = hostile_url
    with httpx.Client(base_url=url) as client:
        for route in ("status", "entities", "events", "entity/translation", "file/02_translation.txt", "export"):
            response = client.get(f"/api/pipeline/linkedrun/{route}")
            assert response.status_code == 404, route
            assert SECRET not in response.text
        listed = client.get("/api/pipeline/runs", params={"limit": 200}).json()["runs"]
        assert "linkedrun" not in {run["run_id"] for run in listed}


# -- token and CORS when configured -------------------------------------------------------------------------------

TOKEN = "correct-horse-battery"


@pytest.fixture(scope="module", params=ADAPTERS)
def guarded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    base = tmp_path_factory.mktemp("guarded")
    run_id = completed_run(base)
    settings = Settings(base_path=base, token=TOKEN, cors_origins=("https://viewer.example",),
                        allowed_hosts=("recorder.lan",))
    with serve(request.param, settings) as url:
        yield url, run_id


def test_with_a_token_listing_and_changing_routes_need_it_and_reading_a_run_does_not(
        guarded: tuple[str, str]) -> None:
    url, run_id = guarded
    with httpx.Client(base_url=url) as client:
        for method, path in (("GET", "/api/pipeline/runs"), ("POST", "/api/schema/pipeline/execute"),
                             ("POST", f"/api/pipeline/{run_id}/cancel"), ("GET", f"/api/pipeline/{run_id}/export")):
            refused = client.request(method, path, content=b"{}")
            assert refused.status_code == 401, path
            assert "token" in refused.json()["error"] and refused.headers["www-authenticate"] == "Bearer"
            wrong = client.request(method, path, content=b"{}", headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
        listed = client.get("/api/pipeline/runs", headers={"Authorization": f"Bearer {TOKEN}"})
        assert listed.status_code == 200 and [r["run_id"] for r in listed.json()["runs"]] == [run_id]
        assert client.get(f"/api/pipeline/{run_id}/status").status_code == 200


def test_configured_cors_origin_is_allowed_and_others_are_not(guarded: tuple[str, str]) -> None:
    url, run_id = guarded
    with httpx.Client(base_url=url) as client:
        allowed = client.get(f"/api/pipeline/{run_id}/status", headers={"Origin": "https://viewer.example"})
        assert allowed.headers["access-control-allow-origin"] == "https://viewer.example"
        other = client.get(f"/api/pipeline/{run_id}/status", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        preflight = client.options(f"/api/pipeline/{run_id}/status", headers={
            "Origin": "https://viewer.example", "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization"})
        assert preflight.status_code == 204
        assert "Authorization" in preflight.headers["access-control-allow-headers"]


def test_configured_host_names_are_served(guarded: tuple[str, str]) -> None:
    url, run_id = guarded
    with httpx.Client(base_url=url) as client:
        assert client.get(f"/api/pipeline/{run_id}/status", headers={"Host": "recorder.lan:8080"}).status_code == 200
        assert client.get(f"/api/pipeline/{run_id}/status", headers={"Host": "other.lan"}).status_code == 400
