"""The server `serve` runs: a request's head must arrive within the header deadline (slowloris), while a long
answer -- an event stream -- is never cut by it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from http_runs import completed_run, running_run
from http_servers import fastapi_server

from pipeline_recorder.http.settings import Settings

DEADLINE = 0.5  # seconds; small so that the test is quick, the server's default is 10


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    base = tmp_path_factory.mktemp("deadline")
    with fastapi_server(Settings(base_path=base, heartbeat_seconds=0.1), header_timeout=DEADLINE) as url:
        yield url, base


def connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=30)


def test_a_request_head_that_never_ends_is_dropped(server: tuple[str, Path]) -> None:
    url, _ = server
    with connect(url) as sock:
        sock.sendall(b"GET /api/pipeline/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a")
        assert sock.recv(1024) == b""  # the server closed the connection (without the deadline: a timeout here)


def test_an_idle_connection_that_sent_nothing_is_dropped(server: tuple[str, Path]) -> None:
    url, _ = server
    with connect(url) as sock:
        assert sock.recv(1024) == b""


def test_complete_requests_on_one_connection_are_answered(server: tuple[str, Path]) -> None:
    url, base = server
    run_id = completed_run(base)
    with httpx.Client(base_url=url) as client:
        for _ in range(3):
            assert client.get(f"/api/pipeline/{run_id}/status").status_code == 200


def test_an_event_stream_lives_on_past_the_header_deadline(server: tuple[str, Path]) -> None:
    url, base = server
    rec = running_run(base)
    heartbeats = 0
    with httpx.Client(base_url=url, timeout=30) as client, \
            client.stream("GET", f"/api/pipeline/{rec.run_id}/events") as response:
        for line in response.iter_lines():
            heartbeats += line.startswith(": heartbeat")
            if heartbeats == round(3 * DEADLINE / 0.1):  # three deadlines' worth of heartbeats
                break
    assert heartbeats == round(3 * DEADLINE / 0.1)
