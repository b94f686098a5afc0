"""The route table is the one list of routes: both adapters carry exactly its rows, the OpenAPI document and the
URLs come from it, and what a row asks for (the token, the body's limit) is enforced for every route of it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from flask import Flask
from http_raw import post_slowly
from http_runs import completed_run
from http_servers import ADAPTERS, flask_app, serve
from starlette.routing import Route as StarletteRoute

from pipeline_recorder.http.fastapi_app import create_app
from pipeline_recorder.http.flask_blueprints import flask_rule
from pipeline_recorder.http.routes import BY_NAME, ROUTES, Auth, Group, match, url_for
from pipeline_recorder.http.settings import Settings

TOKEN = "correct-horse-battery"
MB = 1_000_000


def fastapi_routes(settings: Settings) -> set[tuple[str, str, str]]:
    found = set()
    for route in create_app(settings).routes:
        assert isinstance(route, StarletteRoute), route  # nothing but the table's plain routes
        for method in route.methods or ():
            if method != "HEAD":  # Starlette adds HEAD to every GET route
                found.add((route.name, method, route.path))
    return found


def flask_routes(app: Flask) -> set[tuple[str, str, str]]:
    return {(rule.endpoint.rpartition(".")[2], method, rule.rule) for rule in app.url_map.iter_rules()
            if rule.endpoint != "static" for method in rule.methods or () if method not in ("HEAD", "OPTIONS")}


def test_the_fastapi_app_has_exactly_the_routes_of_the_table(tmp_path: Path) -> None:
    assert fastapi_routes(Settings(base_path=tmp_path)) == {(r.name, r.method, r.path) for r in ROUTES}


def test_the_flask_blueprints_have_exactly_the_read_runner_and_write_routes_of_the_table(tmp_path: Path) -> None:
    expected = {(r.name, r.method, flask_rule(r.path)) for r in ROUTES
                if r.group in (Group.READ, Group.RUNNER, Group.WRITE)}
    assert flask_routes(flask_app(Settings(base_path=tmp_path))) == expected


def test_route_names_are_unique_and_each_names_a_handler() -> None:
    from pipeline_recorder.http.handlers import Api
    from pipeline_recorder.http.research_writes import ResearchWrites

    assert len(BY_NAME) == len(ROUTES)
    for route in ROUTES:
        # The write routes' handlers are Api.writes': Writes and the research record's (a subclass of it).
        handlers = ResearchWrites if route.group is Group.WRITE else Api
        assert callable(getattr(handlers, route.name, None)), route.name


def test_the_openapi_document_lists_every_route_of_the_table_in_the_schema(tmp_path: Path) -> None:
    paths = create_app(Settings(base_path=tmp_path)).openapi()["paths"]
    listed = {(method.upper(), path) for path, ops in paths.items() for method in ops}
    assert listed == {(r.method, r.path.replace(":path}", "}")) for r in ROUTES if r.in_schema}
    for route in ROUTES:
        if route.in_schema and route.auth is not Auth.OPEN:
            operation = paths[route.path][route.method.lower()]
            assert "401" in operation["responses"]
            assert "Authorization" in {p["name"] for p in operation["parameters"]}


def test_url_for_fills_and_quotes_the_parameters_and_match_reads_them_back() -> None:
    filled = url_for("file", "/mount", run_id="r 1", filename="01_input.txt")
    assert filled == "/mount/api/pipeline/r%201/file/01_input.txt"
    assert url_for("static", path="i18n/de.json") == "/static/i18n/de.json"
    found = match("GET", "/api/pipeline/abc/entity/input")
    assert found is not None and found[0].name == "entity"
    assert found[1] == {"run_id": "abc", "entity_type": "input"}
    assert match("POST", "/api/pipeline/abc/status") is None
    assert match("GET", "/api/pipeline/abc/status/extra") is None


# -- what the table asks for is enforced on every route of it, on both adapters ------------------------------


@pytest.fixture(scope="module", params=ADAPTERS)
def guarded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    base = tmp_path_factory.mktemp("guarded")
    run_id = completed_run(base)
    with serve(request.param, Settings(base_path=base, token=TOKEN)) as url:
        yield url, run_id


def token_routes() -> list[str]:
    return [r.name for r in ROUTES if r.auth is not Auth.OPEN and r.group in (Group.READ, Group.RUNNER)]


@pytest.mark.parametrize("authorization", [None, "", "Bearer", f"Bearer {TOKEN[:-1]}",
                                           f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN])
def test_every_route_that_needs_the_token_refuses_a_missing_empty_prefix_or_wrong_one(
        guarded: tuple[str, str], authorization: str | None) -> None:
    url, run_id = guarded
    headers = {"Content-Type": "application/json"} | ({} if authorization is None
                                                     else {"Authorization": authorization})
    with httpx.Client(base_url=url, timeout=10) as client:
        for name in token_routes():
            route = BY_NAME[name]
            path = url_for(name, **{param: run_id for param in route.params})
            response = client.request(route.method, path, content=b"{}" if route.body else None, headers=headers)
            assert response.status_code == 401, (name, authorization, response.text)
            assert response.headers["www-authenticate"] == "Bearer"


def test_an_anonymous_100_mb_upload_is_refused_before_its_body_is_read(guarded: tuple[str, str]) -> None:
    url, _ = guarded
    for chunked in (False, True):
        answer = post_slowly(url, url_for("execute"), 100 * MB, {"Content-Type": "application/json"},
                             chunked=chunked)
        assert answer.status == 401, answer.body
        # The answer came while most of the body was still unsent: the server never waited for it.
        assert answer.sent_before_answer < 20 * MB, (chunked, answer.sent_before_answer)


@pytest.fixture(scope="module", params=ADAPTERS)
def open_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(request.param, Settings(base_path=tmp_path_factory.mktemp("open"))) as url:
        yield url


def test_a_body_over_the_routes_limit_is_refused_once_the_limit_is_passed_declared_or_chunked(
        open_server: str) -> None:
    limit = BY_NAME["execute"].body.max_bytes  # type: ignore[union-attr]
    declared = post_slowly(open_server, url_for("execute"), 50 * MB, {"Content-Type": "application/json"})
    assert declared.status == 413 and b"limit" in declared.body
    assert declared.sent_before_answer < 20 * MB
    streamed = post_slowly(open_server, url_for("execute"), 50 * MB, {"Content-Type": "application/json"},
                           chunked=True)
    assert streamed.status == 413 and b"1 MB" in streamed.body
    assert limit <= streamed.sent_before_answer < 20 * MB


def test_unknown_routes_and_methods_get_the_same_words_from_both_adapters(tmp_path: Path) -> None:
    completed_run(tmp_path)
    answers = []
    for adapter in ADAPTERS:
        with serve(adapter, Settings(base_path=tmp_path)) as url, httpx.Client(base_url=url) as client:
            missing = client.get("/api/pipeline/x/nothing-here")
            wrong_method = client.delete("/api/pipeline/x/status")
            assert (missing.status_code, wrong_method.status_code) == (404, 405)
            answers.append((missing.json(), wrong_method.json()))
    assert answers[0] == answers[1]
