"""The FastAPI server's own parts: the OpenAPI document, a schemathesis run over every route, the viewer pages."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from http_runs import completed_run
from http_servers import fastapi_server
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from pipeline_recorder.http.settings import Settings


@pytest.fixture(scope="module")
def fastapi_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = tmp_path_factory.mktemp("openapi")
    completed_run(base)
    with fastapi_server(Settings(base_path=base, heartbeat_seconds=0.3)) as url:
        yield url


def test_openapi_declares_event_streams_and_binary_entities(fastapi_url: str) -> None:
    document = httpx.get(f"{fastapi_url}/openapi.json").json()
    paths = document["paths"]
    events = paths["/api/pipeline/{run_id}/events"]["get"]["responses"]["200"]["content"]
    assert list(events) == ["text/event-stream"]
    entity = paths["/api/pipeline/{run_id}/entity/{entity_type}"]["get"]["responses"]
    assert entity["200"]["content"]["application/octet-stream"]["schema"] == {"type": "string", "format": "binary"}
    assert {"206", "304", "416"} <= set(entity)
    # FastAPI's own validation answer (422) is never declared; the one 422 is a refused thumbnail (a bomb).
    thumbnail = "/api/pipeline/{run_id}/thumbnail/{filename}"
    assert all("422" not in op["responses"] for name, path in paths.items() if name != thumbnail
               for op in path.values())
    assert "decompression bomb" in paths[thumbnail]["get"]["responses"]["422"]["description"]
    assert document["components"]["schemas"]["Error"]["required"] == ["error"]


# No 5xx, and every answer inside the schema: status code, media type, headers and body. (Whether every
# schema-valid request is accepted is not asked: an opaque cursor or an unknown run id is rightly refused.)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


def operations(url: str) -> list[schemathesis.schemas.APIOperation]:
    loaded = schemathesis.openapi.from_url(f"{url}/openapi.json")
    return [result.ok() for result in loaded.get_all_operations()]


def test_schemathesis_finds_no_5xx_and_no_answer_outside_the_schema_on_any_route(fastapi_url: str) -> None:
    # schemathesis' pytest plugin does not run under this pytest, so drive its strategies with hypothesis directly.
    ops = operations(fastapi_url)
    assert len(ops) >= 13
    for operation in ops:

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                  database=None)
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=fastapi_url, timeout=10, checks=CHECKS)

        check()


def test_viewer_pages_are_served_from_the_package(fastapi_url: str) -> None:
    with httpx.Client(base_url=fastapi_url) as client:
        index = client.get("/")
        assert index.status_code == 200 and index.headers["content-type"].startswith("text/html")
        assert b'<script type="module" src="/static/runs.js">' in index.content  # the package's runs page
        run_id = client.get("/api/pipeline/runs").json()["runs"][0]["run_id"]
        run = client.get(f"/runs/{run_id}")
        assert run.status_code == 200 and b'<script type="module" src="/static/run.js">' in run.content
        missing = client.get("/runs/some-run-id")  # a well-formed id of no run: a page saying so, as a 404
        assert missing.status_code == 404 and b'<script type="module" src="/static/no-run.js">' in missing.content
        script = client.get("/static/api.js")
        assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
        assert script.headers["x-content-type-options"] == "nosniff"
        assert client.get("/static/no-such-file.js").status_code == 404
        assert client.get("/runs/bad!id").status_code == 400


def test_viewer_pages_allow_only_the_servers_own_scripts_and_cannot_be_framed(fastapi_url: str) -> None:
    with httpx.Client(base_url=fastapi_url) as client:
        for path in ("/", "/runs/some-run-id"):
            policy = client.get(path).headers["content-security-policy"]
            assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
            assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
