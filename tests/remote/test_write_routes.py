"""The write routes on both adapters (real servers on loopback): what they store, what they refuse, and that a
retry with the same Idempotency-Key is answered as the first call was and stores nothing new."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from http_servers import ADAPTERS, serve

from pipeline_recorder.http.handlers import Api
from pipeline_recorder.http.request import Body, HeaderMap, Request
from pipeline_recorder.http.routes import BY_NAME
from pipeline_recorder.http.settings import Settings
from pipeline_recorder.leases import lease_record, writing_as
from pipeline_recorder.recorder import LivePipelineRecorder
from pipeline_recorder.stores import open_store
from support import wait_until

TOKEN = "s3cret-token-for-tests"


def runs_dir(base: Path) -> Path:
    return base / "pipeline_runs"


def listed(base: Path, run_id: str) -> list[dict[str, object]]:
    return list(json.loads((runs_dir(base) / run_id / "metadata.json").read_text())["entities"])


def visible_files(base: Path, run_id: str) -> list[str]:
    return sorted(p.name for p in (runs_dir(base) / run_id).iterdir() if not p.name.startswith("."))


def leftover_temps(base: Path, run_id: str) -> list[str]:
    return sorted(p.name for p in (runs_dir(base) / run_id).iterdir() if p.name.startswith(".tmp-"))


@pytest.fixture(params=ADAPTERS)
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[httpx.Client, Path]]:
    settings = Settings(base_path=tmp_path, max_entity_bytes=64 * 1024, lease_seconds=30)
    with serve(request.param, settings) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client, tmp_path


def create(client: httpx.Client, **extra: object) -> str:
    run_id = str(uuid.uuid4())
    body = {"run_id": run_id, "config_name": "c", "execution_mode": "eco", "safety_level": "kids", **extra}
    answer = client.post("/api/pipeline/runs", json=body)
    assert answer.status_code == 201, answer.text
    return run_id


def test_create_attach_and_conflict(server: tuple[httpx.Client, Path]) -> None:
    client, base = server
    run_id = create(client, expected_outputs=["input"])
    same = {"run_id": run_id, "config_name": "c", "execution_mode": "eco", "safety_level": "kids"}
    attached = client.post("/api/pipeline/runs", json=same)
    assert attached.status_code == 200 and attached.json()["created"] is False
    other = client.post("/api/pipeline/runs", json={**same, "safety_level": "adult"})
    assert other.status_code == 409 and "safety_level" in other.json()["error"]
    assert other.headers["Pipeline-Error"] == "RunExistsError"
    doc = json.loads((runs_dir(base) / run_id / "metadata.json").read_text())
    assert doc["safety_level"] == "kids" and doc["expected_outputs"] == ["input"]


def test_entity_kinds_are_stored_as_a_local_recorder_stores_them(server: tuple[httpx.Client, Path]) -> None:
    client, base = server
    run_id = create(client)
    text = client.post(f"/api/pipeline/{run_id}/entity/input", content="Grüße".encode(),
                       headers={"Content-Type": "text/plain; charset=utf-8",
                                "Pipeline-Entity-Metadata": json.dumps({"lang": "de", "ü": 1})})
    assert text.status_code == 201, text.text
    assert text.json()["entity"]["filename"] == "01_input.txt"
    data = client.post(f"/api/pipeline/{run_id}/entity/safety", json={"safe": True, "codes": []})
    png = client.post(f"/api/pipeline/{run_id}/entity/output_image", content=b"\x89PNG\r\n\x1a\n" + bytes(100),
                      headers={"Content-Type": "application/octet-stream"})
    raw = client.post(f"/api/pipeline/{run_id}/entity/output_audio?format=wav", content=bytes(10),
                      headers={"Content-Type": "application/octet-stream"})
    assert [a.status_code for a in (data, png, raw)] == [201, 201, 201]
    assert visible_files(base, run_id) == ["01_input.txt", "02_safety.json", "03_output_image.png",
                                           "04_output_audio.wav", "metadata.json"]
    assert (runs_dir(base) / run_id / "01_input.txt").read_text(encoding="utf-8") == "Grüße"
    assert listed(base, run_id)[0]["metadata"] == {"lang": "de", "ü": 1}
    assert listed(base, run_id)[3]["metadata"] == {"format": "wav"}
    # The JSON entity is byte for byte what the local recorder writes for the same dict.
    local = LivePipelineRecorder(str(uuid.uuid4()), "c", "eco", "kids", base_path=base / "local")
    local.save_entity("safety", {"safe": True, "codes": []})
    assert (runs_dir(base) / run_id / "02_safety.json").read_bytes() == \
        (local.run_folder / "01_safety.json").read_bytes()


@pytest.mark.parametrize(("content_type", "body", "why"), [
    ("text/plain; charset=utf-8", b"caf\xe9", "UTF-8"),
    ("text/plain; charset=latin-1", b"cafe", "charset"),
    ("application/json", b'{"a": 1,', "JSON"),
    ("application/json", b'{"a": 1, "a": 2}', "twice"),
    ("application/json", b'{"a": NaN}', "JSON"),
    ("application/json", b'"a string"', "object or an array"),
    ("application/json", b'{"a": "\\ud800"}', "surrogate"),
])
def test_bad_text_or_json_is_refused_and_nothing_is_stored(server: tuple[httpx.Client, Path], content_type: str,
                                                           body: bytes, why: str) -> None:
    client, base = server
    run_id = create(client)
    answer = client.post(f"/api/pipeline/{run_id}/entity/input", content=body,
                         headers={"Content-Type": content_type})
    assert answer.status_code == 400 and why in answer.json()["error"]
    assert listed(base, run_id) == [] and visible_files(base, run_id) == ["metadata.json"]


def test_a_body_over_the_limit_gets_413_and_nothing_is_stored(server: tuple[httpx.Client, Path]) -> None:
    client, base = server
    run_id = create(client)
    declared = client.post(f"/api/pipeline/{run_id}/entity/output_image", content=bytes(64 * 1024 + 1),
                           headers={"Content-Type": "application/octet-stream"})
    assert declared.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit must be checked while reading
        for _ in range(20):
            yield bytes(8 * 1024)

    streamed = client.post(f"/api/pipeline/{run_id}/entity/output_image", content=chunks(),
                           headers={"Content-Type": "application/octet-stream"})
    assert streamed.status_code == 413, streamed.text
    text = client.post(f"/api/pipeline/{run_id}/entity/input", content=chunks(),
                       headers={"Content-Type": "text/plain"})
    assert text.status_code == 413
    assert listed(base, run_id) == [] and visible_files(base, run_id) == ["metadata.json"]
    assert leftover_temps(base, run_id) == []
    fits = client.post(f"/api/pipeline/{run_id}/entity/output_image", content=bytes(64 * 1024),
                       headers={"Content-Type": "application/octet-stream"})
    assert fits.status_code == 201


def test_a_retry_with_the_same_key_gets_the_first_answer_and_stores_nothing(
        server: tuple[httpx.Client, Path]) -> None:
    client, base = server
    run_id = create(client)
    headers = {"Content-Type": "text/plain", "Idempotency-Key": "key-1"}
    first = client.post(f"/api/pipeline/{run_id}/entity/input", content=b"once", headers=headers)
    again = client.post(f"/api/pipeline/{run_id}/entity/input", content=b"once", headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert len(listed(base, run_id)) == 1
    state = {"Idempotency-Key": "key-2"}
    assert client.put(f"/api/pipeline/{run_id}/state", json={"stage": 1, "step": "a"}, headers=state).json() == \
        client.put(f"/api/pipeline/{run_id}/state", json={"stage": 1, "step": "a"}, headers=state).json()
    error = {"Idempotency-Key": "key-3"}
    body = {"stage": 1, "error_type": "x", "message": "m"}
    assert client.post(f"/api/pipeline/{run_id}/error", json=body, headers=error).json() == \
        client.post(f"/api/pipeline/{run_id}/error", json=body, headers=error).json()
    assert [e["type"] for e in listed(base, run_id)] == ["input", "error"]
    reused = client.post(f"/api/pipeline/{run_id}/entity/input", content=b"once",
                         headers={"Content-Type": "text/plain", "Idempotency-Key": "key-2"})
    assert reused.status_code == 400 and "another request" in reused.json()["error"]
    # A new server over the same store (a restart) still knows the first answer.
    store_doc = json.loads((runs_dir(base) / run_id / "metadata.json").read_text())
    with serve("fastapi", Settings(base_path=base)) as url:
        replay = httpx.post(f"{url}/api/pipeline/{run_id}/entity/input", content=b"once", headers=headers)
    assert replay.json() == first.json() and replay.headers["Idempotent-Replayed"] == "true"
    assert json.loads((runs_dir(base) / run_id / "metadata.json").read_text()) == store_doc


def test_a_retry_while_the_first_call_runs_waits_for_its_answer(server: tuple[httpx.Client, Path]) -> None:
    client, base = server
    run_id = create(client)
    release = threading.Event()
    started = threading.Event()

    def slow_body() -> Iterator[bytes]:
        yield b"\x89PNG\r\n\x1a\n"
        started.set()
        release.wait(30)
        yield bytes(1000)

    headers = {"Content-Type": "application/octet-stream", "Idempotency-Key": "slow-key"}
    answers: list[httpx.Response] = []
    first = threading.Thread(target=lambda: answers.append(
        client.post(f"/api/pipeline/{run_id}/entity/output_image", content=slow_body(), headers=headers)))
    first.start()
    wait_until(started.is_set, what="the first upload to start")
    with httpx.Client(base_url=str(client.base_url), timeout=30) as other:
        retry = threading.Thread(target=lambda: answers.append(
            other.post(f"/api/pipeline/{run_id}/entity/output_image", content=b"\x89PNG\r\n\x1a\n" + bytes(1000),
                       headers=headers)))
        retry.start()
        release.set()
        first.join(30)
        retry.join(30)
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json() == answers[1].json()
    assert len(listed(base, run_id)) == 1


def test_a_retry_after_a_stopped_first_call_finds_the_entity_it_committed(tmp_path: Path) -> None:
    # The first call recorded its intent and committed the entity, then its server died before it answered.
    store = open_store(tmp_path)
    run_id = str(uuid.uuid4())
    rec = LivePipelineRecorder(run_id, "c", "eco", "kids", base_path=tmp_path)
    rec.save_entity("input", "earlier entity of the same type")
    with store.idempotency().claim(run_id, "lost-answer", _entity_fingerprint(run_id)) as claim:
        claim.begin({"after": rec.last_sequence(), "type": "input", "metadata": {}})
        with writing_as(lease_record("w")):
            rec.save_entity("input", "the content")
    with serve("fastapi", Settings(base_path=tmp_path)) as url:
        headers = {"Content-Type": "text/plain", "Idempotency-Key": "lost-answer"}
        retry = httpx.post(f"{url}/api/pipeline/{run_id}/entity/input", content=b"the content", headers=headers)
        assert retry.status_code == 201 and retry.json()["entity"]["sequence"] == 2
        other = httpx.post(f"{url}/api/pipeline/{run_id}/entity/input", content=b"other content",
                           headers={**headers, "Idempotency-Key": "uncommitted"})
        assert other.json()["entity"]["sequence"] == 3
    assert [e["sequence"] for e in store.read_metadata(run_id)["entities"]] == [1, 2, 3]


def _entity_fingerprint(run_id: str) -> str:
    from pipeline_recorder.http.write_replays import request_fingerprint

    return request_fingerprint("entity", run_id, {"type": "input", "metadata": {}, "media": "text/plain"})


def test_writes_need_the_token_when_one_is_set(tmp_path: Path) -> None:
    with serve("fastapi", Settings(base_path=tmp_path, token=TOKEN)) as url:
        body = {"config_name": "c", "execution_mode": "eco", "safety_level": "kids"}
        anonymous = httpx.post(f"{url}/api/pipeline/runs", json=body)
        wrong = httpx.post(f"{url}/api/pipeline/runs", json=body, headers={"Authorization": "Bearer " + TOKEN[:-1]})
        good = httpx.post(f"{url}/api/pipeline/runs", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert (anonymous.status_code, wrong.status_code, good.status_code) == (401, 401, 201)
    assert [p.name for p in runs_dir(tmp_path).iterdir() if not p.name.startswith(".")] == [good.json()["run_id"]]


def _create(api: Api, client: str | None, headers: dict[str, str]) -> int:
    """POST /api/pipeline/runs as the adapters hand it to the handlers, from ``client``."""
    data = json.dumps({"config_name": "c", "execution_mode": "eco", "safety_level": "kids"}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
           *[(k.lower().encode(), v.encode()) for k, v in headers.items()]]
    pieces = iter([data, b""])
    request = Request("POST", {}, {}, HeaderMap(raw), Body(lambda: next(pieces), 1_000_000), client)
    return api.handle(BY_NAME["create_run"], request).status


def test_without_a_token_only_loopback_clients_may_write(tmp_path: Path) -> None:
    api = Api(Settings(base_path=tmp_path))
    assert _create(api, "10.1.2.3", {}) == 403
    assert _create(api, "192.168.0.9", {}) == 403
    assert not runs_dir(tmp_path).exists() or not any(runs_dir(tmp_path).iterdir())
    assert _create(api, "127.0.0.1", {}) == 201
    assert _create(api, "::1", {}) == 201
    with_token = Api(Settings(base_path=tmp_path, token=TOKEN))
    assert _create(with_token, "10.1.2.3", {}) == 401
    assert _create(with_token, "10.1.2.3", {"Authorization": f"Bearer {TOKEN}"}) == 201


def test_cross_site_pages_cannot_write(tmp_path: Path) -> None:
    api = Api(Settings(base_path=tmp_path))
    assert _create(api, "127.0.0.1", {"Origin": "https://evil.example"}) == 403
    assert _create(api, "127.0.0.1", {"Sec-Fetch-Site": "cross-site"}) == 403
    assert not runs_dir(tmp_path).exists()


def test_json_write_routes_take_only_json(server: tuple[httpx.Client, Path]) -> None:
    client, base = server
    body = json.dumps({"config_name": "c", "execution_mode": "eco", "safety_level": "kids"})
    answer = client.post("/api/pipeline/runs", content=body, headers={"Content-Type": "text/plain"})
    assert answer.status_code == 415
    assert not runs_dir(base).exists() or not [p for p in runs_dir(base).iterdir() if not p.name.startswith(".")]


def test_writes_of_an_unknown_run_or_bad_names_are_refused(server: tuple[httpx.Client, Path]) -> None:
    client, base = server
    missing = client.post(f"/api/pipeline/{uuid.uuid4()}/entity/input", content=b"x",
                          headers={"Content-Type": "text/plain"})
    assert missing.status_code == 404 and missing.headers["Pipeline-Error"] == "RunNotFoundError"
    run_id = create(client)
    for path in (f"/api/pipeline/{run_id}/entity/Bad-Type", f"/api/pipeline/{run_id}/entity/metadata",
                 "/api/pipeline/..%2f..%2fetc/entity/input"):
        answer = client.post(path, content=b"x", headers={"Content-Type": "text/plain"})
        assert answer.status_code in (400, 404), (path, answer.status_code)
    bad_meta = client.post(f"/api/pipeline/{run_id}/entity/input", content=b"x",
                           headers={"Content-Type": "text/plain", "Pipeline-Entity-Metadata": "[1]"})
    assert bad_meta.status_code == 400
    assert listed(base, run_id) == []


def test_a_finished_run_takes_no_more_writes(server: tuple[httpx.Client, Path]) -> None:
    client, _ = server
    run_id = create(client)
    assert client.post(f"/api/pipeline/{run_id}/finish", json={"status": "completed"}).status_code == 200
    assert client.post(f"/api/pipeline/{run_id}/finish", json={"status": "completed"}).status_code == 200
    late = client.post(f"/api/pipeline/{run_id}/entity/input", content=b"x", headers={"Content-Type": "text/plain"})
    assert late.status_code == 409 and late.headers["Pipeline-Error"] == "RunFinishedError"
    assert client.post(f"/api/pipeline/{run_id}/finish", json={"status": "bogus"}).status_code == 400


def test_a_named_writers_retry_finds_its_commit_in_its_writer_record_also_after_a_state_write(
        tmp_path: Path) -> None:
    # The server stored the entity -- its writer's record names the key, in the same metadata.json -- and died
    # before it recorded or sent the answer. Another write of the writer (no key) came in between.
    run_id = str(uuid.uuid4())
    rec = LivePipelineRecorder(run_id, "c", "eco", "kids", base_path=tmp_path)
    rec.save_entity("input", "the content")  # an earlier, identical entity: must not be taken for the commit
    import hashlib

    digest = hashlib.sha256(b"lost-answer").hexdigest()[:32]
    with writing_as(lease_record("writer-1", key=digest, after=rec.last_sequence())):
        rec.save_entity("input", "the content")
    with writing_as(lease_record("writer-1")):
        rec.set_state(2, "interception")
    assert rec.writer_records()[-1]["key"] == digest
    with serve("flask", Settings(base_path=tmp_path)) as url:
        headers = {"Content-Type": "text/plain", "Idempotency-Key": "lost-answer", "Pipeline-Writer": "writer-1"}
        retry = httpx.post(f"{url}/api/pipeline/{run_id}/entity/input", content=b"the content", headers=headers)
        assert retry.status_code == 201 and retry.json()["entity"]["sequence"] == 2
        fresh = httpx.post(f"{url}/api/pipeline/{run_id}/entity/input", content=b"the content",
                           headers={**headers, "Idempotency-Key": "new-key"})
        assert fresh.json()["entity"]["sequence"] == 3
        other = httpx.post(f"{url}/api/pipeline/{run_id}/entity/input", content=b"the content",
                           headers={**headers, "Idempotency-Key": "lost-answer", "Pipeline-Writer": "writer-2"})
        assert other.status_code == 201 and other.json()["entity"]["sequence"] == 2  # the answer on record
    assert [e["sequence"] for e in open_store(tmp_path).read_metadata(run_id)["entities"]] == [1, 2, 3]
