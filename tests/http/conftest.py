from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from http_runs import completed_run
from http_servers import ADAPTERS, Live, serve

from pipeline_recorder.http.settings import Settings


@pytest.fixture(scope="module", params=ADAPTERS)
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    base = tmp_path_factory.mktemp("store")
    run_id = completed_run(base)
    settings = Settings(base_path=base, heartbeat_seconds=0.3)
    with serve(request.param, settings) as url, httpx.Client(base_url=url, timeout=10) as client:
        yield Live(request.param, url, base, client, run_id)
