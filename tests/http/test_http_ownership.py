"""Two apps over two stores in one process share nothing: each app has its own live recorders and document
cache, each store its own change watchers and parsed documents -- and serving never fills the library's default
registry (``get_recorder``'s), which belongs to the host program."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from http_servers import ADAPTERS, fastapi_server, flask_app, flask_server

from pipeline_recorder import LivePipelineRecorder, new_run_id
from pipeline_recorder.flask import api_for
from pipeline_recorder.http.fastapi_app import create_app
from pipeline_recorder.http.handlers import Api
from pipeline_recorder.http.settings import Settings
from pipeline_recorder.registry import registry_size


@contextmanager
def app_server(adapter: str, base: Path) -> Iterator[tuple[str, Api]]:
    """A real server of ``adapter`` over the folder store ``base``, and the handlers it serves with."""
    settings = Settings(base_path=base)
    if adapter == "fastapi":
        app: Any = create_app(settings)
        with fastapi_server(settings, app=app) as url:
            yield url, app.state.api
    else:
        flask = flask_app(settings)
        with flask_server(settings, app=flask) as url:
            yield url, api_for(flask)


def same_run_in(base: Path, run_id: str, entities: int) -> None:
    rec = LivePipelineRecorder(run_id, "stillepost", "eco", "kids", base_path=base)
    for n in range(entities):
        rec.save_entity("input", f"text {n}")
    rec.close()


def entity_count(client: httpx.Client, run_id: str) -> int:
    answer = client.get(f"/api/pipeline/{run_id}/status")
    assert answer.status_code == 200, answer.text
    return len(answer.json()["entities"])


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_two_apps_over_two_stores_share_no_recorders_caches_or_watchers(adapter: str, tmp_path: Path) -> None:
    run_id = new_run_id()
    base_a, base_b = tmp_path / "a", tmp_path / "b"
    same_run_in(base_a, run_id, 1)  # the same run id in both stores, with other content
    same_run_in(base_b, run_id, 2)
    before = registry_size()
    with app_server(adapter, base_a) as (url_a, api_a), app_server(adapter, base_b) as (url_b, api_b), \
            httpx.Client(base_url=url_a, timeout=10) as a, httpx.Client(base_url=url_b, timeout=10) as b:
        # Each app's document cache holds its own store's version of the run.
        assert (entity_count(a, run_id), entity_count(b, run_id)) == (1, 2)
        # Recording through each app goes to its own store, through its own recorder.
        for client in (a, b):
            saved = client.post(f"/api/pipeline/{run_id}/entity/translation", content=b"hello",
                                headers={"Content-Type": "text/plain"})
            assert saved.status_code == 201, saved.text
        assert (entity_count(a, run_id), entity_count(b, run_id)) == (2, 3)
        assert api_a.writes.registry is not api_b.writes.registry
        assert (api_a.writes.registry.size(), api_b.writes.registry.size()) == (1, 1)
        assert registry_size() == before  # the host program's get_recorder registry is not the server's

        # Each store parses and watches its own runs.
        assert len(api_a.store.parsed(run_id).doc["entities"]) == 2
        assert len(api_b.store.parsed(run_id).doc["entities"]) == 3

        def wake() -> None:
            pass

        api_a.store.subscribe(run_id, wake)
        try:
            assert [store.watches.active() for store in (api_a.store, api_b.store)] == [1, 0]
        finally:
            api_a.store.unsubscribe(run_id, wake)

        # Closing one app (server shutdown) leaves the other recording.
        api_a.writes.close()
        assert api_a.writes.registry.size() == 0 and api_b.writes.registry.size() == 1
        again = b.post(f"/api/pipeline/{run_id}/entity/translation", content=b"again",
                       headers={"Content-Type": "text/plain"})
        assert again.status_code == 201, again.text
        assert entity_count(b, run_id) == 4
