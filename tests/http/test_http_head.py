"""HEAD is answered for every GET route as GET would be -- same status and headers, Content-Length included -- and
without a body, on both adapters; a HEAD of a live event stream ends at once instead of following the run."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from http_runs import completed_run, running_run
from http_servers import ADAPTERS, serve

from pipeline_recorder.http.settings import Settings
from support import wait_until

COMPARED_HEADERS = ("content-type", "content-length", "etag", "cache-control", "x-content-type-options")


@pytest.fixture(scope="module", params=ADAPTERS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) \
        -> Iterator[tuple[str, Path, str]]:
    """(adapter, store base, server URL)."""
    base = tmp_path_factory.mktemp("store")
    with serve(request.param, Settings(base_path=base)) as url:
        yield request.param, base, url


def api_paths(run_id: str) -> list[str]:
    api = f"/api/pipeline/{run_id}"
    return ["/api/pipeline/runs", f"{api}/status", f"{api}/status?since=3", f"{api}/entity/input",
            f"{api}/entity/output_image", f"{api}/entity/translation?index=0", f"{api}/file/01_input.txt",
            f"{api}/entities", f"{api}/entity/no_such_type", "/api/pipeline/no-such-run/status",
            f"{api}/entity/Bad-Type"]


PAGE_PATHS = ["/", "/static/app.css", "/static/no-such-file.js"]


def assert_head_like_get(client: httpx.Client, path: str) -> None:
    got = client.get(path)
    head = client.head(path)
    assert head.status_code == got.status_code, (path, head.status_code, got.status_code)
    assert head.content == b"", path
    for name in COMPARED_HEADERS:
        assert head.headers.get(name) == got.headers.get(name), (path, name)
    if got.status_code == 200:
        assert int(head.headers["content-length"]) == len(got.content), path


def test_head_of_every_read_route_answers_like_get_without_a_body(server: tuple[str, Path, str]) -> None:
    adapter, base, url = server
    run_id = completed_run(base)
    with httpx.Client(base_url=url, timeout=10) as client:
        paths = api_paths(run_id) + ([*PAGE_PATHS, f"/runs/{run_id}"] if adapter == "fastapi" else [])
        for path in paths:
            assert_head_like_get(client, path)


def test_head_of_status_with_the_current_etag_answers_304(server: tuple[str, Path, str]) -> None:
    _, base, url = server
    run_id = completed_run(base)
    with httpx.Client(base_url=url, timeout=10) as client:
        etag = client.head(f"/api/pipeline/{run_id}/status").headers["etag"]
        assert client.head(f"/api/pipeline/{run_id}/status", headers={"If-None-Match": etag}).status_code == 304


def test_head_of_a_live_runs_event_stream_answers_at_once_and_follows_nothing(server: tuple[str, Path, str]) -> None:
    _, base, url = server
    rec = running_run(base)
    rec.save_entity("input", "still running")
    with httpx.Client(base_url=url, timeout=10) as client:
        head = client.head(f"/api/pipeline/{rec.run_id}/events")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"].startswith("text/event-stream")
    wait_until(lambda: not any(thread.name.startswith("watch-") for thread in threading.enumerate()),
               what="the HEAD request's follower to stop watching the run")


def test_head_of_a_post_only_route_is_refused_like_get(server: tuple[str, Path, str]) -> None:
    _, _, url = server
    with httpx.Client(base_url=url, timeout=10) as client:
        assert client.head("/api/schema/pipeline/execute").status_code == 405
