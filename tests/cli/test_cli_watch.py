"""`watch` and `run` from the local store: live progress, a line per entity, and exit codes by final status."""

import subprocess
from pathlib import Path

import pytest
from cli_harness import cli, cli_command, cli_env, make_interrupted_run, make_run

from pipeline_recorder import RunStore


@pytest.mark.parametrize(("status", "code"), [("completed", 0), ("failed", 10), ("blocked", 11),
                                              ("cancelled", 12)])
def test_watch_of_an_ended_run_prints_its_entities_and_exits_by_status(tmp_path: Path, status: str,
                                                                       code: int) -> None:
    rec = make_run(tmp_path, status=status)
    result = cli("watch", rec.run_id, "--base-path", str(tmp_path))
    assert result.code == code, result.text
    for filename in ("01_input.txt", "02_translation.txt", "03_safety.json"):
        assert filename in result.out
    assert f"run {rec.run_id} {status}" in result.out
    assert str(rec.run_folder) in result.out


def test_watch_of_a_run_whose_writer_died_exits_13(tmp_path: Path) -> None:
    run_id = make_interrupted_run(tmp_path)
    result = cli("watch", run_id, "-b", str(tmp_path))
    assert result.code == 13, result.text
    assert "interrupted" in result.out


def test_watch_follows_a_live_run_until_it_completes(tmp_path: Path) -> None:
    rec = make_run(tmp_path, status=None, entities=[("input", "Hallo")],
                   expected=["input", "translation", "interception"])
    watcher = subprocess.Popen(cli_command("watch", rec.run_id, "-b", str(tmp_path)), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=cli_env())
    try:
        assert watcher.stdout is not None
        first = watcher.stdout.readline()  # the watcher has read the run and shows what exists so far
        assert "01_input.txt" in first
        rec.set_state(2, "interception")
        rec.save_entity("translation", "Hello")
        rec.save_entity("interception", "Hi there")
        rec.mark_complete()
        out, err = watcher.communicate(timeout=60)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
    assert watcher.returncode == 0, err
    assert "02_translation.txt" in out and "03_interception.txt" in out
    assert f"run {rec.run_id} completed" in out
    assert "3/3" in out


def test_watch_of_an_unknown_run_exits_3_and_of_a_malformed_id_exits_2(tmp_path: Path) -> None:
    unknown = cli("watch", "no-such-run", "-b", str(tmp_path))
    assert unknown.code == 3
    assert "not found" in unknown.err
    assert cli("watch", "bad/id", "-b", str(tmp_path)).code == 2


def test_run_records_a_pipeline_prints_its_id_and_folder_and_exits_0(tmp_path: Path) -> None:
    result = cli("run", "stillepost", "Ein kleiner Hund spielt im Garten", "--mode", "eco", "--safety", "kids",
                 "--base-path", str(tmp_path))
    assert result.code == 0, result.text
    run_id = result.out.split("run ", 1)[1].split()[0]
    doc = RunStore(tmp_path).read_metadata(run_id)
    assert doc["status"] == "completed" and doc["current_state"]["progress"] == "6/6"
    for entity in doc["entities"]:
        assert entity["filename"] in result.out
    assert f"run {run_id} completed" in result.out
    assert f"folder: {RunStore(tmp_path).run_folder(run_id)}" in result.out


def test_run_of_a_blocked_input_exits_11_and_says_why(tmp_path: Path) -> None:
    result = cli("run", "stillepost", "Sieg Heil 88", "-b", str(tmp_path))
    assert result.code == 11, result.text
    assert "blocked" in result.out and "reason:" in result.out and "86a" in result.out


def test_run_with_an_unknown_config_or_mode_records_nothing(tmp_path: Path) -> None:
    unknown = cli("run", "no-such-config", "text", "-b", str(tmp_path))
    assert unknown.code == 3
    assert "stillepost" in unknown.err  # names the configs that exist
    bad_mode = cli("run", "stillepost", "text", "--mode", "turbo", "-b", str(tmp_path))
    assert bad_mode.code == 2
    assert "--mode must be eco or fast" in bad_mode.err and "execution_mode" not in bad_mode.err
    bad_level = cli("run", "stillepost", "text", "--safety", "none", "-b", str(tmp_path))
    assert bad_level.code == 2
    assert not (tmp_path / "pipeline_runs").exists() or not list((tmp_path / "pipeline_runs").iterdir())


def test_run_with_a_config_folder_uses_a_config_from_it(tmp_path: Path) -> None:
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "plainjane.yaml").write_text("description: text only\nstyle: plain\niterations: 1\nmedia: []\n")
    result = cli("run", "plainjane", "hello there", "-b", str(tmp_path), "--configs", str(configs))
    assert result.code == 0, result.text
    run_id = result.out.split("run ", 1)[1].split()[0]
    doc = RunStore(tmp_path).read_metadata(run_id)
    assert doc["config_name"] == "plainjane"
    assert "output_image" not in doc["expected_outputs"]
