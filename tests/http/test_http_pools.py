"""Cancel and reads never queue behind pipeline work: with every runner thread of the server waiting on a slow
backend, ``cancel`` and ``/api/schema/configs`` still answer, on both adapters (FastAPI: each pool of the route
table has its own threads; Flask: a thread per request)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from http_servers import ADAPTERS, serve

from browser.fake_ollama import GATE_SECONDS, GatedOllama
from pipeline_recorder.http.routes import POOL_THREADS, Pool, url_for
from pipeline_recorder.http.settings import Settings
from support import wait_until

# More pipelines than the runner has threads for, each waiting for its end.
HELD = POOL_THREADS[Pool.RUNNER] + 2


@dataclass
class Busy:
    url: str
    base: Path
    backend: GatedOllama


@pytest.fixture(params=ADAPTERS)
def busy(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Busy]:
    backend = GatedOllama()
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "slowtext.yaml").write_text(
        f"media: [image]\nbackends: {{text: ollama, ollama: {{url: '{backend.url}'}}}}\ntimeout_seconds: 60\n",
        encoding="utf-8")
    settings = Settings(base_path=tmp_path / "store", config_dirs=(configs,), workers=2)
    try:
        with serve(request.param, settings) as url:
            yield Busy(url, tmp_path / "store", backend)
            backend.gate.set()  # let the held pipelines end before the server stops
    finally:
        backend.close()


def run_ids(base: Path) -> list[str]:
    runs = base / "pipeline_runs"
    return [p.name for p in runs.iterdir() if not p.name.startswith(".")] if runs.exists() else []


def test_cancel_and_reads_answer_while_every_runner_thread_waits_on_a_slow_backend(busy: Busy) -> None:
    body = {"schema": "slowtext", "input_text": "Ein kleiner Hund", "execution_mode": "eco", "wait": True}

    def execute() -> int:
        with httpx.Client(timeout=120) as client:
            return client.post(busy.url + url_for("execute"), json=body).status_code

    with ThreadPoolExecutor(HELD) as pool:
        waiting = [pool.submit(execute) for _ in range(HELD)]
        # Every runner thread is taken once that many runs exist (each is created before its request waits).
        wait_until(lambda: len(run_ids(busy.base)) >= POOL_THREADS[Pool.RUNNER], timeout=60,
                   what="the runner's threads to be taken by waiting pipelines")
        wait_until(busy.backend.entered.is_set, what="a pipeline to wait on the slow backend")
        # Answered while the backend still holds every pipeline (it lets none go for GATE_SECONDS).
        with httpx.Client(base_url=busy.url, timeout=GATE_SECONDS / 2) as client:
            configs = client.get(url_for("configs"))
            assert configs.status_code == 200
            assert "slowtext" in {config["name"] for config in configs.json()["configs"]}
            victim = run_ids(busy.base)[0]
            cancelled = client.post(url_for("cancel", run_id=victim))
            assert cancelled.status_code == 200, cancelled.text
            assert cancelled.json()["cancel_requested"] is True
            assert client.get(url_for("status", run_id=victim)).status_code == 200
        assert sum(not future.done() for future in waiting) >= HELD - 1  # all still held but the cancelled one
        busy.backend.gate.set()
        assert {future.result() for future in waiting} <= {200, 409}  # completed, or the one cancelled
