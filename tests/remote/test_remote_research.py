"""RemoteRecorder and the research fields: kind, session and device sent at creation, models set per stage, notes
and tags annotated -- what the server's store holds afterwards, and the local checks before anything is sent."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from http_servers import serve

from pipeline_recorder import RemoteRecorder, RunExistsError, ValidationError
from pipeline_recorder.http.settings import Settings


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    with serve("fastapi", Settings(base_path=tmp_path / "server")) as url:
        yield url, tmp_path / "server"


def stored(base: Path, run_id: str) -> dict[str, object]:
    doc: dict[str, object] = json.loads((base / "pipeline_runs" / run_id / "metadata.json").read_text("utf-8"))
    return doc


def test_a_remote_run_holds_its_kind_session_device_models_and_annotations(server: tuple[str, Path],
                                                                         tmp_path: Path) -> None:
    url, base = server
    run_id = str(uuid.uuid4())
    with RemoteRecorder(url, run_id, "canvas", "eco", "kids", spool_dir=tmp_path / "spool", kind="canvas_workflow",
                        session_id="class-4b", device_id="ws-3") as rec:
        rec.save_entity("input", "Ein Hund")
        rec.set_model("stage4_output_image", "comfyui/sd35_large")
        rec.mark_complete()
        assert rec.annotate(tags=["zoo"], notes="nice") == {"notes": "nice", "tags": ["zoo"]}
        assert rec.get_status()["tags"] == ["zoo"]
    doc = stored(base, run_id)
    assert (doc["kind"], doc["session_id"], doc["device_id"]) == ("canvas_workflow", "class-4b", "ws-3")
    assert doc["models_used"] == {"stage4_output_image": "comfyui/sd35_large"}
    assert (doc["tags"], doc["notes"], doc["status"]) == (["zoo"], "nice", "completed")


def test_a_remote_recorder_with_another_kind_for_an_existing_run_is_refused(server: tuple[str, Path],
                                                                          tmp_path: Path) -> None:
    url, _ = server
    run_id = str(uuid.uuid4())
    RemoteRecorder(url, run_id, "c", "eco", "kids", spool_dir=tmp_path / "spool", kind="latent_lab").close()
    with pytest.raises(RunExistsError, match="kind"):
        RemoteRecorder(url, run_id, "c", "eco", "kids", spool_dir=tmp_path / "spool", kind="canvas_workflow")


@pytest.mark.parametrize("call", [
    lambda url, spool: RemoteRecorder(url, "r1", "c", "eco", "kids", spool_dir=spool, kind="Bad"),
    lambda url, spool: RemoteRecorder(url, "r1", "c", "eco", "kids", spool_dir=spool, session_id="a b"),
])
def test_bad_fields_are_refused_before_anything_is_sent(tmp_path: Path, call: object) -> None:
    with pytest.raises(ValidationError):
        call("http://127.0.0.1:9", tmp_path / "spool")  # type: ignore[operator]  # nothing listens there
    assert not (tmp_path / "spool").exists()


def test_bad_models_and_annotations_are_refused_locally(server: tuple[str, Path], tmp_path: Path) -> None:
    url, base = server
    with RemoteRecorder(url, str(uuid.uuid4()), "c", "eco", "kids", spool_dir=tmp_path / "spool") as rec:
        before = stored(base, rec.run_id)["revision"]
        with pytest.raises(ValidationError, match="backend/model"):
            rec.set_model("stage1", "no-slash")
        with pytest.raises(ValidationError, match="without commas"):
            rec.annotate(tags=["a,b"])
        assert stored(base, rec.run_id)["revision"] == before


def test_a_remote_recorder_saves_process_steps_with_their_own_sequence(server: tuple[str, Path],
                                                                      tmp_path: Path) -> None:
    url, base = server
    with RemoteRecorder(url, str(uuid.uuid4()), "c", "eco", "kids", spool_dir=tmp_path / "spool") as rec:
        assert rec.save_entity("input", "Ein Hund") == "01_input.txt"
        assert rec.save_process_step("input", "Ein kleiner Hund") == "prompting_process/001_input.txt"
        assert rec.save_process_step("parameters", {"seed": 1}) == "prompting_process/002_parameters.json"
        folder = base / "pipeline_runs" / rec.run_id
    assert (folder / "prompting_process" / "001_input.txt").read_text() == "Ein kleiner Hund"
    assert [s["filename"] for s in stored(base, rec.run_id)["prompting_process"]] == [  # type: ignore[union-attr]
        "prompting_process/001_input.txt", "prompting_process/002_parameters.json"]


def test_a_lazy_remote_recorder_sends_nothing_until_its_first_write(server: tuple[str, Path], tmp_path: Path) -> None:
    url, base = server
    unused = RemoteRecorder(url, str(uuid.uuid4()), "c", "eco", "kids", spool_dir=tmp_path / "spool", lazy=True)
    unused.mark_cancelled()
    unused.close()
    rec = RemoteRecorder(url, str(uuid.uuid4()), "c", "eco", "kids", spool_dir=tmp_path / "spool", lazy=True,
                         kind="canvas_workflow")
    runs = base / "pipeline_runs"
    assert not runs.exists() or not any(p.name == rec.run_id for p in runs.iterdir())
    assert rec.save_entity("input", "Ein Hund") == "01_input.txt"
    rec.mark_complete()
    rec.close()
    assert sorted(p.name for p in runs.iterdir() if not p.name.startswith(".")) == [rec.run_id]
    assert (stored(base, rec.run_id)["kind"], stored(base, rec.run_id)["status"]) == ("canvas_workflow", "completed")
