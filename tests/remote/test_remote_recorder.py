"""RemoteRecorder in one process against real servers on loopback: the local recorder's checks and exceptions
before anything is sent, retries that reuse one Idempotency-Key (honouring Retry-After), the spool's order and
what it does with a write the server refuses, and get_recorder going remote with PIPELINE_RECORDER_SERVER."""

from __future__ import annotations

import io
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from http_servers import serve

import pipeline_recorder
from pipeline_recorder import (
    InvalidContentError,
    InvalidEntityTypeError,
    InvalidFormatError,
    InvalidMetadataError,
    InvalidRunIdError,
    LivePipelineRecorder,
    RemoteRecorder,
    RunExistsError,
    RunFinishedError,
    ServerUnreachableError,
    ValidationError,
)
from pipeline_recorder.http.settings import Settings
from pipeline_recorder.registry import get_recorder
from pipeline_recorder.remote.spool import RunSpool
from pipeline_recorder.remote.transport import Operation, Transport
from support import free_port


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    with serve("fastapi", Settings(base_path=tmp_path / "server")) as served:
        yield served


def remote(url: str, tmp_path: Path, **kwargs: Any) -> RemoteRecorder:
    return RemoteRecorder(url, str(uuid.uuid4()), "c", "eco", "kids", spool_dir=tmp_path / "spool", **kwargs)


BAD_CALLS = [
    (lambda r: r.save_entity("Bad Type", "x"), InvalidEntityTypeError),
    (lambda r: r.save_entity("metadata", "x"), InvalidEntityTypeError),
    (lambda r: r.save_entity("input", 42), InvalidContentError),
    (lambda r: r.save_entity("input", "x", metadata=[1]), InvalidMetadataError),
    (lambda r: r.save_entity("input", "x", metadata={"v": float("nan")}), InvalidMetadataError),
    (lambda r: r.save_entity("output_image", b"raw", {"format": "exe"}), InvalidFormatError),
    (lambda r: r.save_entity("input", {"v": {1, 2}}), InvalidContentError),
    (lambda r: r.save_entity("input", Path("/no/such/file")), InvalidContentError),
    (lambda r: r.save_entity("input", io.StringIO("text mode")), InvalidContentError),
    (lambda r: r.set_state(100, "x"), ValidationError),
    (lambda r: r.set_state(1, ""), ValidationError),
    (lambda r: r.save_error(1, "t", 5), ValidationError),
    (lambda r: r.finish("running"), ValidationError),
]


@pytest.mark.parametrize(("call", "error"), BAD_CALLS)
def test_bad_calls_raise_what_the_local_recorder_raises_and_send_nothing(
        url: str, tmp_path: Path, call: Any, error: type[Exception]) -> None:
    rec = remote(url, tmp_path)
    local = LivePipelineRecorder(str(uuid.uuid4()), "c", "eco", "kids", base_path=tmp_path / "local")
    with pytest.raises(error):
        call(local)
    with pytest.raises(error):
        call(rec)
    assert rec.get_status()["entities"] == [] and rec.get_status()["revision"] == 1
    rec.close()


def test_bad_settings_are_refused_before_anything_is_sent(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(InvalidRunIdError):
        RemoteRecorder(dead, "../etc", "c", "eco", "kids", spool_dir=tmp_path)
    with pytest.raises(ValidationError):
        RemoteRecorder(dead, "r1", "", "eco", "kids", spool_dir=tmp_path)
    with pytest.raises(ValidationError):
        RemoteRecorder(dead, "r1", "c", "eco", "kids", expected_outputs="input", spool_dir=tmp_path)
    with pytest.raises(ValidationError):
        RemoteRecorder("ftp://x", "r1", "c", "eco", "kids", spool_dir=tmp_path)
    assert not any(tmp_path.iterdir())


def test_the_servers_refusals_are_raised_as_the_local_recorder_raises_them(url: str, tmp_path: Path) -> None:
    rec = remote(url, tmp_path, expected_outputs=["input"])
    with pytest.raises(RunExistsError):
        RemoteRecorder(url, rec.run_id, "c", "eco", "adult", spool_dir=tmp_path / "spool")
    same = RemoteRecorder(url, rec.run_id, "c", "eco", "kids", spool_dir=tmp_path / "spool")
    same.mark_complete()
    with pytest.raises(RunFinishedError):
        rec.save_entity("input", "late")
    with pytest.raises(RunFinishedError):
        same.set_state(1, "x")
    rec.close()
    same.close()


def test_get_entity_path_is_none_and_the_url_serves_the_entity(url: str, tmp_path: Path) -> None:
    import httpx

    rec = remote(url, tmp_path)
    assert rec.save_entity("input", "hello") == "01_input.txt"
    assert rec.get_entity_path("input") is None
    assert httpx.get(rec.get_entity_url("input")).text == "hello"
    assert [e["filename"] for e in rec.get_entities("input")] == ["01_input.txt"]
    rec.close()


class _Flaky(BaseHTTPRequestHandler):
    """Answers 429 (Retry-After: 0), then 503, then 201, and keeps each request's Idempotency-Key."""

    keys: ClassVar[list[str]] = []
    answers: ClassVar[list[tuple[int, dict[str, str]]]] = [(429, {"Retry-After": "0"}), (503, {}), (201, {})]

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        type(self).keys.append(self.headers["Idempotency-Key"])
        status, headers = type(self).answers[min(len(type(self).keys) - 1, 2)]
        body = json.dumps({"ok": True} if status == 201 else {"error": "busy"}).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", "Content-Length": str(len(body)),
                            **headers}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_retries_on_429_and_5xx_reuse_one_idempotency_key() -> None:
    _Flaky.keys = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        transport = Transport(f"http://127.0.0.1:{httpd.server_port}", retry_seconds=30)
        assert transport.send(Operation("POST", "/x", json={"a": 1})) == {"ok": True}
        transport.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert len(_Flaky.keys) == 3 and len(set(_Flaky.keys)) == 1


def test_an_unreachable_server_is_given_up_after_the_retry_budget() -> None:
    transport = Transport(f"http://127.0.0.1:{free_port()}", retry_seconds=0.2)
    with pytest.raises(ServerUnreachableError, match="no answer"):
        transport.send(Operation("POST", "/x", json={}))
    transport.close()


def test_spooled_writes_are_sent_in_order_and_a_refused_one_is_kept_aside(url: str, tmp_path: Path) -> None:
    run_id = str(uuid.uuid4())
    spool = RunSpool(tmp_path / "spool", run_id)
    create = {"run_id": run_id, "config_name": "c", "execution_mode": "eco", "safety_level": "kids"}
    entity = f"/api/pipeline/{run_id}/entity/input"
    ops = [Operation("POST", "/api/pipeline/runs", json=create),
           Operation("POST", entity, content=b"one", headers={"Content-Type": "text/plain"}),
           Operation("POST", entity, content=b"\xff", headers={"Content-Type": "text/plain"}),  # refused: 400
           Operation("POST", entity, content=b"two", headers={"Content-Type": "text/plain"})]
    for op in ops:
        spool.append(url, op)
    assert len(spool) == 4
    transport = Transport(url)
    with spool.sending() as held:
        assert held
        sent, rejected = spool.drain(transport)
    transport.close()
    assert sent == 3 and len(rejected) == 1 and "UTF-8" in rejected[0]
    status = json.loads((tmp_path / "server" / "pipeline_runs" / run_id / "metadata.json").read_text())
    assert [e["filename"] for e in status["entities"]] == ["01_input.txt", "02_input.txt"]
    assert (tmp_path / "server" / "pipeline_runs" / run_id / "02_input.txt").read_bytes() == b"two"
    kept = list((spool.folder / "rejected").glob("*.json"))
    assert len(kept) == 1 and "rejected" in json.loads(kept[0].read_text())
    assert len(spool) == 0


def test_a_spool_sent_twice_stores_each_write_once(url: str, tmp_path: Path) -> None:
    # A sender that dies after the server stored a write but before removing it from the spool sends it again.
    run_id = str(uuid.uuid4())
    spool = RunSpool(tmp_path / "spool", run_id)
    spool.append(url, Operation("POST", "/api/pipeline/runs", json={
        "run_id": run_id, "config_name": "c", "execution_mode": "eco", "safety_level": "kids"}))
    spool.append(url, Operation("POST", f"/api/pipeline/{run_id}/entity/input", content=b"x",
                                headers={"Content-Type": "text/plain"}))
    transport = Transport(url)
    for path in spool.pending():
        transport.send(spool.load(path))  # sent, but the spool still holds them
    with spool.sending():
        spool.drain(transport)
    transport.close()
    status = json.loads((tmp_path / "server" / "pipeline_runs" / run_id / "metadata.json").read_text())
    assert [e["filename"] for e in status["entities"]] == ["01_input.txt"]


def test_get_recorder_records_remotely_when_the_server_variable_is_set(
        url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPELINE_RECORDER_SERVER", url)
    monkeypatch.setenv("PIPELINE_RECORDER_SPOOL", str(tmp_path / "spool"))
    monkeypatch.chdir(tmp_path)
    run_id = str(uuid.uuid4())
    rec = get_recorder(run_id, config_name="stillepost", execution_mode="eco", safety_level="kids")
    assert isinstance(rec, RemoteRecorder) and get_recorder(run_id) is rec
    rec.save_entity("input", "via the server")
    rec.mark_complete()
    rec.close()
    assert (tmp_path / "server" / "pipeline_runs" / run_id / "01_input.txt").read_text() == "via the server"
    assert not (tmp_path / "pipeline_runs").exists()


def test_remote_recorder_is_exported() -> None:
    assert pipeline_recorder.RemoteRecorder is RemoteRecorder
    assert "RemoteRecorder" in pipeline_recorder.__all__


def test_a_refused_creation_keeps_the_runs_spooled_writes_out_of_the_existing_run(url: str, tmp_path: Path) -> None:
    run_id = str(uuid.uuid4())
    RemoteRecorder(url, run_id, "c", "eco", "adult", spool_dir=tmp_path / "other").close()  # someone else's run
    spool = RunSpool(tmp_path / "spool", run_id)
    spool.append(url, Operation("POST", "/api/pipeline/runs", json={
        "run_id": run_id, "config_name": "c", "execution_mode": "eco", "safety_level": "kids"}))
    spool.append(url, Operation("POST", f"/api/pipeline/{run_id}/entity/input", content=b"mine",
                                headers={"Content-Type": "text/plain"}))
    transport = Transport(url)
    with spool.sending():
        sent, rejected = spool.drain(transport)
    transport.close()
    assert sent == 0 and len(rejected) == 2 and "RunExistsError" in rejected[0]
    status = json.loads((tmp_path / "server" / "pipeline_runs" / run_id / "metadata.json").read_text())
    assert status["entities"] == [] and status["safety_level"] == "adult"
    assert len(list((spool.folder / "rejected").glob("*.json"))) == 2
