"""get_recorder / load_recorder: read-only loading, other processes' writes, a thread-safe bounded registry."""

from __future__ import annotations

import inspect
import shutil
import threading
from pathlib import Path

import pytest
from core_helpers import read_json_line, snapshot, spawn

from pipeline_recorder import (
    CorruptRunError,
    LivePipelineRecorder,
    RunExistsError,
    RunStore,
    get_recorder,
    load_recorder,
    new_run_id,
    registry,
)
from pipeline_recorder.locking import LOCK_FILENAME
from pipeline_recorder.registry import RecorderRegistry
from pipeline_recorder.stores import FolderStore


def made_run(base: Path) -> LivePipelineRecorder:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=base)
    rec.save_entity("input", "x")
    rec.save_entity("output_image", b"\x89PNG\r\n\x1a\n" + b"\0" * 32)
    rec.close()
    (rec.run_folder / LOCK_FILENAME).unlink()
    return rec


def test_load_recorder_and_reading_never_write_to_disk(base: Path) -> None:
    made = made_run(base)
    before = snapshot(base)
    rec = load_recorder(made.run_id, base_path=base)
    assert rec is not None and rec.run_folder == made.run_folder
    status = rec.get_status()
    assert [e["filename"] for e in status["entities"]] == ["01_input.txt", "02_output_image.png"]
    assert rec.get_entity_path("output_image") == made.run_folder / "02_output_image.png"
    assert rec.get_entity_paths() and rec.get_entities("input")
    assert load_recorder(made.run_id, base_path=base) is rec  # from the registry
    assert snapshot(base) == before
    assert not (made.run_folder / LOCK_FILENAME).exists()


def test_a_missing_run_loads_as_none_and_creates_nothing(tmp_path: Path) -> None:
    assert load_recorder(new_run_id(), base_path=tmp_path) is None
    assert load_recorder("no-such-run", base_path=tmp_path / "nowhere") is None
    assert list(tmp_path.iterdir()) == []


def test_a_loaded_recorder_sees_what_another_process_writes(base: Path) -> None:
    made = made_run(base)
    rec = load_recorder(made.run_id, base_path=base)
    assert rec is not None
    assert len(rec.get_status()["entities"]) == 2
    for n in range(3):
        proc = spawn("append", base, made.run_id, "translation", f"from another process {n}")
        assert read_json_line(proc) == {"filename": f"{n + 3:02d}_translation.txt"}
        assert proc.wait() == 0
        assert rec.get_status()["entities"][-1]["filename"] == f"{n + 3:02d}_translation.txt"
        assert rec.get_entity_path("translation") == made.run_folder / f"{n + 3:02d}_translation.txt"
    # And this process's writer continues the numbering after the other process's entities.
    assert rec.save_entity("safety", {"ok": True}) == "06_safety.json"


def test_a_deleted_run_loads_as_none_even_when_it_was_registered(base: Path) -> None:
    made = made_run(base)
    assert load_recorder(made.run_id, base_path=base) is not None
    shutil.rmtree(made.run_folder)
    assert load_recorder(made.run_id, base_path=base) is None
    assert registry.registry_size() == 0


def test_get_recorder_gives_one_recorder_to_many_threads_at_once(base: Path) -> None:
    run_id = new_run_id()
    results: list[LivePipelineRecorder] = []
    errors: list[BaseException] = []
    start = threading.Barrier(16)

    def grab() -> None:
        start.wait()
        try:
            results.append(get_recorder(run_id, "stillepost", "eco", "kids", base_path=base))
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=grab) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({id(r) for r in results}) == 1
    assert results[0].save_entity("input", "x") == "01_input.txt"


def test_the_registry_never_grows_past_its_bound(base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "MAX_RECORDERS", 8)
    run_ids = [new_run_id() for _ in range(30)]
    kept: list[LivePipelineRecorder] = []
    for n, run_id in enumerate(run_ids):
        kept.append(get_recorder(run_id, "c", "eco", "kids", base_path=base))
        assert load_recorder(run_ids[n // 2], base_path=base) is not None
        assert registry.registry_size() <= 8
    assert registry.registry_size() == 8
    # A recorder dropped from the registry still works for its holder ...
    assert kept[0].save_entity("input", "still works") == "01_input.txt"
    # ... and asking again, without settings, gives the same run (not a new one, not an error).
    again = get_recorder(run_ids[0], base_path=base)
    assert again.save_entity("translation", "y") == "02_translation.txt"
    assert again.get_status()["config_name"] == "c"


def test_the_registry_stays_bounded_under_threads(base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "MAX_RECORDERS", 4)
    run_ids = [new_run_id() for _ in range(12)]
    for run_id in run_ids:
        LivePipelineRecorder(run_id, "c", "eco", "kids", base_path=base)
    sizes: list[int] = []

    def churn(offset: int) -> None:
        for n in range(40):
            assert load_recorder(run_ids[(n + offset) % len(run_ids)], base_path=base) is not None
            sizes.append(registry.registry_size())

    threads = [threading.Thread(target=churn, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(sizes) == 240 and max(sizes) <= 4


def test_get_recorder_refuses_other_settings_whether_or_not_the_recorder_is_registered(base: Path) -> None:
    run_id = new_run_id()
    rec = get_recorder(run_id, "stillepost", "eco", "kids", base_path=base)
    assert get_recorder(run_id, "stillepost", base_path=base) is rec
    with pytest.raises(RunExistsError, match="config_name"):
        get_recorder(run_id, "other", base_path=base)
    registry.clear_registry()
    with pytest.raises(RunExistsError, match="safety_level"):
        get_recorder(run_id, safety_level="adult", base_path=base)
    assert get_recorder(run_id, base_path=base).get_status()["safety_level"] == "kids"


def test_get_recorder_creates_a_run_with_given_expected_outputs(base: Path) -> None:
    rec = get_recorder(new_run_id(), "text", base_path=base, expected_outputs=["input", "translation"])
    status = rec.get_status()
    assert status["expected_outputs"] == ["input", "translation"]
    assert (status["config_name"], status["execution_mode"], status["safety_level"], status["user_id"]) == (
        "text", "eco", "kids", "anonymous")


def test_the_registry_drops_recorders_of_big_runs_to_bound_the_entities_it_holds(
        base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "MAX_CACHED_ENTITIES", 25)
    recorders = []
    for _ in range(6):
        rec = get_recorder(new_run_id(), "c", "eco", "kids", base_path=base)
        for n in range(10):
            rec.save_entity("translation", f"t{n}")
        recorders.append(rec)
        load_recorder(rec.run_id, base_path=base)  # registers again: the bound is applied
        assert 1 <= registry.registry_size() <= 3
    assert load_recorder(recorders[0].run_id, base_path=base).get_entity_paths()[-1].name == "10_translation.txt"


def test_a_corrupt_or_linked_metadata_file_is_a_clear_corrupt_run_error(base: Path, tmp_path: Path) -> None:
    made = made_run(base)
    metadata = made.run_folder / "metadata.json"
    metadata.write_bytes(b'{"run_id": "cut off')
    with pytest.raises(CorruptRunError, match="not valid JSON"):
        load_recorder(made.run_id, base_path=base)
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_bytes(b"{}")
    metadata.unlink()
    metadata.symlink_to(elsewhere)
    with pytest.raises(CorruptRunError, match="cannot be read"):
        load_recorder(made.run_id, base_path=base)
    with pytest.raises(CorruptRunError):
        RunStore(base).read_metadata(made.run_id)


def test_two_registries_in_one_process_share_no_recorder(base: Path) -> None:
    first, second = RecorderRegistry(max_recorders=2), RecorderRegistry(max_recorders=2)
    store = FolderStore(base)
    run_id = new_run_id()
    mine = first.get(run_id, store, {"config_name": "c", "execution_mode": "eco", "safety_level": "kids",
                                     "user_id": None})
    assert first.get(run_id, store, {}) is mine
    theirs = second.load(run_id, store)
    assert theirs is not None and theirs is not mine and (first.size(), second.size()) == (1, 1)
    first.clear()
    assert (first.size(), second.size()) == (0, 1)


def test_get_recorder_takes_the_parameters_docs_library_names_and_refuses_lazy(tmp_path: Path) -> None:
    library = (Path(__file__).resolve().parents[2] / "docs" / "LIBRARY.md").read_text(encoding="utf-8")
    documented = library.split("### `get_recorder(", 1)[1].split(")`", 1)[0].split(", ")
    taken: list[str] = []
    for parameter in inspect.signature(get_recorder).parameters.values():
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY and "*" not in taken:
            taken.append("*")
        default = "" if parameter.default is inspect.Parameter.empty else f"={parameter.default!r}"
        taken.append(parameter.name + default)
    assert taken == documented
    with pytest.raises(TypeError, match="lazy"):
        get_recorder("r1", "c", "eco", "kids", base_path=tmp_path, lazy=True)
    assert not (tmp_path / "pipeline_runs").exists()
    with pytest.raises(TypeError, match="run_id"):
        get_recorder(base_path=tmp_path)  # type: ignore[call-arg]
