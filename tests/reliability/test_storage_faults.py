"""A full disk and a read-only store (a 2 MiB tmpfs, remounted read-only): the caller gets a clear error
(StorageError from the library, a JSON error from the API, never a 500), the run's earlier state is intact and
verify finds it clean, and the server keeps serving reads. Needs root to mount (CI runs as root)."""

from __future__ import annotations

import errno
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from http_servers import fastapi_server
from reliability_harness import cli_json
from storage_mounts import fill, read_only_view, small_tmpfs

from pipeline_recorder import LivePipelineRecorder, StorageError, new_run_id
from pipeline_recorder.http.settings import Settings

EXECUTE = {"schema": "haiku", "input_text": "Ein kleiner Hund", "execution_mode": "eco", "safety_level": "kids"}


@dataclass
class Scene:
    base: Path
    url: str
    client: httpx.Client
    done_id: str  # a completed run
    rec: LivePipelineRecorder  # a running run this process writes

    def state(self) -> tuple[bytes, list[str]]:
        """metadata.json's bytes and the run folder's names: what must not change when a write is refused."""
        folder = self.rec.run_folder
        return (folder / "metadata.json").read_bytes(), sorted(p.name for p in folder.iterdir())


@pytest.fixture
def scene(tmp_path: Path) -> Iterator[Scene]:
    with small_tmpfs(tmp_path / "small") as base:
        done = LivePipelineRecorder(new_run_id(), "haiku", "eco", "kids", base_path=base,
                                    expected_outputs=["input", "output_image"])
        done.save_entity("input", "finished before the trouble")
        done.save_entity("output_image", b"\x89PNG\r\n\x1a\n" + b"\0" * 2000)
        done.mark_complete()
        rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=base)
        rec.set_state(1, "translation_and_safety")
        rec.save_entity("input", "Ein kleiner Hund")
        rec.save_entity("translation", "A small dog")
        with fastapi_server(Settings(base_path=base, heartbeat_seconds=0.3)) as url, \
                httpx.Client(base_url=url, timeout=30) as client:
            # The index and the runner are made before the disk fills, as on a server that was already up.
            assert client.get("/api/pipeline/runs").status_code == 200
            assert client.post("/api/schema/pipeline/execute", json=EXECUTE).status_code == 200
            yield Scene(base, url, client, done.run_id, rec)
        rec.close()


def assert_reads_are_served(scene: Scene) -> None:
    client = scene.client
    for run_id in (scene.done_id, scene.rec.run_id):
        status = client.get(f"/api/pipeline/{run_id}/status")
        assert status.status_code == 200, status.text
        assert client.get(f"/api/pipeline/{run_id}/entities").status_code == 200
        assert client.get(f"/api/pipeline/{run_id}/entity/input").status_code == 200
    image = client.get(f"/api/pipeline/{scene.done_id}/entity/output_image")
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    events = client.get(f"/api/pipeline/{scene.done_id}/events")  # a finished run's stream ends by itself
    assert events.status_code == 200 and "event: end" in events.text


def assert_listing_is_served(scene: Scene) -> None:
    listed = scene.client.get("/api/pipeline/runs")
    assert listed.status_code == 200, listed.text
    assert {scene.done_id, scene.rec.run_id} <= {run["run_id"] for run in listed.json()["runs"]}


def assert_refused_as_json(response: httpx.Response, *words: str) -> None:
    assert 400 <= response.status_code < 600 and response.status_code != 500, response.text
    assert response.headers["content-type"].startswith("application/json")
    message = response.json()["error"]
    assert "Traceback" not in response.text and any(word in message for word in words), message


def assert_verify_clean(base: Path) -> None:
    code, report = cli_json("verify", "--base-path", str(base))
    assert (code, report["findings"]) == (0, []), report


def test_a_full_disk_refuses_writes_clearly_keeps_the_run_intact_and_the_server_serving(scene: Scene) -> None:
    before = scene.state()
    fill(scene.base / "filler")
    with pytest.raises(StorageError) as raised:
        scene.rec.save_entity("output_image", b"\x89PNG\r\n\x1a\n" + bytes(256 * 1024))
    assert raised.value.errno == errno.ENOSPC and "disk is full" in str(raised.value)
    assert "output_image" in str(raised.value) and scene.rec.run_id in str(raised.value)
    assert scene.state() == before, "a refused write changed the run on disk"
    # Changed in place, a small change needs no new room, and is recorded on the full disk too.
    scene.rec.set_state(2, "interception-in-place")
    assert json.loads((scene.rec.run_folder / "metadata.json").read_bytes())["current_state"]["step"] == \
        "interception-in-place"
    before = scene.state()
    # A reader holds the document's spare copy open, so a change cannot be made in place: metadata.json must be
    # written whole, and that can no longer be done either, however small the change.
    with open(scene.rec.run_folder / ".metadata.spare", "rb"), pytest.raises(StorageError):
        for n in range(200):
            scene.rec.set_state(2, f"interception-{n}")
    assert scene.state() == before, "a refused write changed the run on disk"
    assert_refused_as_json(scene.client.post("/api/schema/pipeline/execute", json=EXECUTE), "disk is full")
    assert_reads_are_served(scene)
    assert_verify_clean(scene.base)
    (scene.base / "filler").unlink()
    assert_listing_is_served(scene)
    # Room again: the same recorder carries on, after its last acknowledged entity.
    assert scene.rec.save_entity("output_image", b"\x89PNG\r\n\x1a\n" + bytes(1000)) == "03_output_image.png"
    assert scene.client.post("/api/schema/pipeline/execute", json=EXECUTE).status_code == 200
    assert_verify_clean(scene.base)


@pytest.fixture
def read_only_scene(tmp_path: Path) -> Iterator[Scene]:
    """Runs written on a tmpfs, then a server started over a read-only view of it (a store on a medium mounted
    read-only, or one the kernel turned read-only), and a recorder that tries to go on writing through it."""
    with small_tmpfs(tmp_path / "small") as writable:
        done = LivePipelineRecorder(new_run_id(), "haiku", "eco", "kids", base_path=writable,
                                    expected_outputs=["input", "output_image"])
        done.save_entity("input", "finished before the trouble")
        done.save_entity("output_image", b"\x89PNG\r\n\x1a\n" + b"\0" * 2000)
        done.mark_complete()
        running = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=writable)
        running.set_state(1, "translation_and_safety")
        running.save_entity("input", "Ein kleiner Hund")
        running.save_entity("translation", "A small dog")
        with read_only_view(writable, tmp_path / "readonly") as base:
            rec = LivePipelineRecorder.open(running.run_id, base_path=base)
            with fastapi_server(Settings(base_path=base, heartbeat_seconds=0.3)) as url, \
                    httpx.Client(base_url=url, timeout=30) as client:
                yield Scene(base, url, client, done.run_id, rec)
            rec.close()
        running.close()


def test_a_read_only_store_refuses_writes_clearly_keeps_the_run_intact_and_the_server_serving(
        read_only_scene: Scene) -> None:
    scene = read_only_scene
    before = scene.state()
    hashes = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in scene.rec.run_folder.iterdir()}
    with pytest.raises(StorageError) as raised:
        scene.rec.save_entity("interception", "on a read-only store")
    assert raised.value.errno == errno.EROFS and "read-only" in str(raised.value)
    with pytest.raises(StorageError):
        scene.rec.set_state(2, "interception")
    with pytest.raises(StorageError):
        LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=scene.base)
    assert_refused_as_json(scene.client.post("/api/schema/pipeline/execute", json=EXECUTE), "read-only")
    assert_reads_are_served(scene)
    assert_listing_is_served(scene)
    assert scene.rec.get_status()["entities"][-1]["filename"] == "02_translation.txt"
    assert_verify_clean(scene.base)
    assert scene.state() == before
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in scene.rec.run_folder.iterdir()} == hashes


def test_listing_runs_on_a_full_disk_answers_from_the_index_as_it_is_not_500(scene: Scene) -> None:
    """The run index is a cache: when the disk is too full to update it, the listing must still answer (from the
    index as it is, or from memory), never the 500 of a failed SQLite write."""
    LivePipelineRecorder(new_run_id(), "haiku", "eco", "kids", base_path=scene.base).close()  # one to index
    fill(scene.base / "filler")
    assert_listing_is_served(scene)
