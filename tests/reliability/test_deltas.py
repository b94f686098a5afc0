"""Polling and events cost the same at the 400th entity of a run as at the 10th: ``/status?since=REVISION`` returns
only what changed, a poll of an unchanged run is a body-less 304, and SSE sends each change as a delta (one frame
per new entity), whether the client stays connected or resumes with Last-Event-ID."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from http_servers import fastapi_server

from pipeline_recorder import LivePipelineRecorder, new_run_id
from pipeline_recorder.http.settings import Settings
from support import wait_until

LONG = 400
# The same entity at sequence 10 and 400 differs only in a few digits (sequence, revision, filename, size fields).
DIGITS_SLACK = 48
TEXT = "A small dog runs through the garden."


@dataclass
class Grown:
    url: str
    rec: LivePipelineRecorder

    def save(self) -> int:
        """Save one entity; the run's revision before it."""
        before = int(self.rec.get_status()["revision"])
        self.rec.save_entity("translation", TEXT)
        return before


@pytest.fixture
def grown(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Grown]:
    base = tmp_path_factory.mktemp("deltas")
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=base)
    rec.set_state(1, "translation_and_safety")
    with fastapi_server(Settings(base_path=base, heartbeat_seconds=5)) as url:
        yield Grown(url, rec)
    rec.close()


def grow_to(grown: Grown, count: int) -> None:
    while len(grown.rec.get_status()["entities"]) < count - 1:
        grown.rec.save_entity("translation", TEXT)


def poll_since(client: httpx.Client, grown: Grown, since: int) -> httpx.Response:
    response = client.get(f"/api/pipeline/{grown.rec.run_id}/status", params={"since": since})
    assert response.status_code == 200, response.text
    return response


def resumed_burst(grown: Grown, last_event_id: int, count: int) -> tuple[list[str], int]:
    """Resume the event stream after ``last_event_id``; (kinds of the first ``count`` events, their bytes)."""
    kinds: list[str] = []
    size = 0
    with httpx.Client(base_url=grown.url, timeout=httpx.Timeout(10, read=20)) as client, client.stream(
            "GET", f"/api/pipeline/{grown.rec.run_id}/events",
            headers={"Last-Event-ID": str(last_event_id)}) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("retry:") or line.startswith(":"):
                continue
            size += len(line.encode()) + 1
            if line.startswith("event: "):
                kinds.append(line.removeprefix("event: "))
            if line == "" and len(kinds) == count:
                return kinds, size
    raise AssertionError(f"the stream ended after {kinds}")


def test_status_since_a_revision_returns_only_what_changed_and_costs_the_same_in_a_long_run(grown: Grown) -> None:
    sizes = {}
    with httpx.Client(base_url=grown.url, timeout=10) as client:
        for count in (10, LONG):
            grow_to(grown, count)
            before = grown.save()
            delta = poll_since(client, grown, before)
            doc = delta.json()
            assert [e["sequence"] for e in doc["entities"]] == [count], "only the entity saved since"
            assert doc["revision"] == before + 1 and doc["status"] == "running"
            assert poll_since(client, grown, before + 1).json()["entities"] == []  # nothing since: nothing
            unchanged = client.get(f"/api/pipeline/{grown.rec.run_id}/status", params={"since": before},
                                   headers={"If-None-Match": delta.headers["etag"]})
            assert unchanged.status_code == 304 and unchanged.content == b""
            full = client.get(f"/api/pipeline/{grown.rec.run_id}/status")
            sizes[count] = (len(delta.content), len(full.content))
    (delta_short, full_short), (delta_long, full_long) = sizes[10], sizes[LONG]
    assert full_long > 10 * full_short, sizes  # the whole document does grow with the run...
    assert abs(delta_long - delta_short) <= DIGITS_SLACK, sizes  # ...what a poller fetches does not


def test_events_resumed_after_a_revision_send_only_the_change_at_the_same_cost_in_a_long_run(grown: Grown) -> None:
    sizes = {}
    for count in (10, LONG):
        grow_to(grown, count)
        before = grown.save()
        # "I have seen everything up to revision `before`" (its last slot): the change is one entity and the
        # state and status as of the new revision.
        kinds, size = resumed_burst(grown, before * 4 + 3, 3)
        assert kinds == ["entity", "state", "status"], kinds
        sizes[count] = size
    assert abs(sizes[LONG] - sizes[10]) <= DIGITS_SLACK, sizes


def test_a_connected_client_gets_one_constant_size_frame_per_entity_as_the_run_grows(grown: Grown) -> None:
    frames: list[tuple[str, int]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def read() -> None:
        size, kind = 0, ""
        with httpx.Client(base_url=grown.url, timeout=httpx.Timeout(10, read=30)) as client, client.stream(
                "GET", f"/api/pipeline/{grown.rec.run_id}/events") as response:
            for line in response.iter_lines():
                if stop.is_set():
                    return
                if line.startswith("retry:") or line.startswith(":"):
                    continue
                size += len(line.encode()) + 1
                kind = line.removeprefix("event: ") if line.startswith("event: ") else kind
                if line == "":
                    with lock:
                        frames.append((kind, size))
                    size, kind = 0, ""

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        grow_to(grown, LONG + 1)
        wait_until(lambda: sum(k == "entity" for k, _ in frames) == LONG, timeout=60,
                   what=f"{LONG} entity events")
    finally:
        stop.set()
        grown.rec.mark_complete()  # ends the stream, so the reader thread ends
        reader.join(15)
    entity_frames = [size for kind, size in frames if kind == "entity"]
    # One frame per entity, each about as big as the first: no frame carries the growing list.
    assert max(entity_frames[9:]) - min(entity_frames[9:]) <= DIGITS_SLACK, (min(entity_frames), max(entity_frames))
    total = sum(size for _, size in frames)
    assert total < 2 * LONG * max(entity_frames), "the stream sent more than the deltas"
