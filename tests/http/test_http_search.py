"""GET /api/pipeline/runs?q=TEXT: full-text search with the other filters, on both adapters."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from http_servers import ADAPTERS, serve

from pipeline_recorder import LivePipelineRecorder, new_run_id
from pipeline_recorder.http.settings import Settings


@pytest.fixture(scope="module", params=ADAPTERS)
def client(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    base = tmp_path_factory.mktemp("store")
    for text, user in (("Ein kleiner Hund", "ada"), ("Ein großer Hund", "bob"), ("Eine Katze", "ada")):
        rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", user, base_path=base)
        rec.save_entity("input", text)
        rec.save_entity("interception", f"{text} -- retold")
        rec.mark_complete()
    with serve(request.param, Settings(base_path=base)) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def inputs(client: httpx.Client, **params: str) -> list[str]:
    answer = client.get("/api/pipeline/runs", params=params)
    assert answer.status_code == 200, answer.text
    return sorted(run["user_id"] for run in answer.json()["runs"])


def test_q_finds_runs_by_their_words_with_the_other_filters(client: httpx.Client) -> None:
    assert inputs(client, q="hund") == ["ada", "bob"]
    assert inputs(client, q="GROSSER hu") == ["bob"]  # ß folds to ss, word starts, any case
    assert inputs(client, q="hund", user_id="ada") == ["ada"]
    assert inputs(client, q="retold") == ["ada", "ada", "bob"]
    assert inputs(client, q="") == ["ada", "ada", "bob"]  # an empty field is no filter


def test_a_q_without_words_is_400_saying_what_is_accepted(client: httpx.Client) -> None:
    answer = client.get("/api/pipeline/runs", params={"q": "?!"})
    assert answer.status_code == 400
    assert "no word to search for" in answer.json()["error"]
    assert client.get("/api/pipeline/runs", params={"q": "x" * 201}).status_code == 400
