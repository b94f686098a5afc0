"""The command line in its user's terms: run ids by a unique prefix, the pipeline's output printed, errors naming
flags (not API fields) without errno text, help without Python types, one time format, one-line usage errors."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from cli_harness import cli, make_run

from pipeline_recorder import LivePipelineRecorder, RunStore
from pipeline_recorder.cli import app
from support import free_port

COMMANDS = sorted(command.name or (command.callback.__name__ if command.callback else "")
                  for command in app.registered_commands)
MOMENT = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d")


def named_run(base: Path, run_id: str) -> str:
    rec = LivePipelineRecorder(run_id, "haiku", "eco", "kids", base_path=base, expected_outputs=["input"])
    rec.save_entity("input", f"text of {run_id}")
    rec.mark_complete()
    return run_id


@pytest.mark.parametrize("command", ["show", "watch", "verify"])
def test_a_unique_prefix_names_the_run_and_an_ambiguous_one_lists_the_matches(tmp_path: Path, command: str) -> None:
    first = named_run(tmp_path, "b52002bc-aaaa-1111")
    second = named_run(tmp_path, "b52002bc-bbbb-2222")
    named_run(tmp_path, "ffff0000")
    unique = cli(command, "b52002bc-a", "-b", str(tmp_path))
    assert unique.code == 0, unique.text
    assert second not in unique.out
    assert first in unique.out if command != "verify" else "checked 1 run(s): all clean" in unique.out
    ambiguous = cli(command, "b52002bc", "-b", str(tmp_path))
    assert ambiguous.code == 2
    assert ambiguous.err.startswith("error: ") and ambiguous.err.count("\n") == 1
    assert "matches 2 runs" in ambiguous.err and first in ambiguous.err and second in ambiguous.err
    none = cli(command, "0123abcd", "-b", str(tmp_path))
    assert none.code == 3 and "0123abcd" in none.err


def test_an_exact_id_wins_over_a_longer_id_it_is_the_prefix_of(tmp_path: Path) -> None:
    named_run(tmp_path, "abc")
    named_run(tmp_path, "abc-1")
    shown = cli("show", "abc", "--json", "-b", str(tmp_path))
    assert shown.code == 0, shown.text
    assert json.loads(shown.out)["run_id"] == "abc"


def test_export_takes_a_prefix_and_exports_that_run(tmp_path: Path) -> None:
    rec = make_run(tmp_path)
    archive = tmp_path / "one.zip"
    result = cli("export", rec.run_id[:8], "-o", str(archive), "-b", str(tmp_path))
    assert result.code == 0, result.text
    imported = cli("import", str(archive), "-b", str(tmp_path / "other"))
    assert imported.code == 0, imported.text
    assert RunStore(tmp_path / "other").read_metadata(rec.run_id)["entities"] == rec.get_status()["entities"]


def test_run_prints_the_pipelines_final_output_and_where_its_media_went(tmp_path: Path) -> None:
    text_only = cli("run", "haiku", "Ein Baum im Wind", "-b", str(tmp_path))
    assert text_only.code == 0, text_only.text
    run_id = text_only.out.split("run ", 1)[1].split()[0]
    written = (RunStore(tmp_path).run_folder(run_id) / "04_interception.txt").read_text(encoding="utf-8")
    printed = text_only.out.split("output: ", 1)[1].split("\nrun ", 1)[0]
    assert [line.strip() for line in printed.splitlines()] == [line.strip() for line in written.strip().splitlines()]

    with_image = cli("run", "stillepost", "Ein kleiner Hund", "-b", str(tmp_path))
    assert with_image.code == 0, with_image.text
    image = Path(with_image.out.split("output_image: ", 1)[1].split()[0])
    assert image.is_file() and image.read_bytes().startswith(b"\x89PNG")


def test_errors_name_the_flags_and_arguments_the_user_typed(tmp_path: Path) -> None:
    mode = cli("run", "haiku", "x", "--mode", "turbo", "-b", str(tmp_path))
    assert mode.code == 2 and "--mode must be eco or fast" in mode.err and "execution_mode" not in mode.err
    level = cli("run", "haiku", "x", "--safety", "none", "-b", str(tmp_path))
    assert level.code == 2 and "--safety must be kids, youth, adult or off" in level.err
    config = cli("run", "no-such", "x", "-b", str(tmp_path))
    assert config.code == 3 and "no config named 'no-such'" in config.err and "schema" not in config.err
    empty = cli("run", "haiku", "  ", "-b", str(tmp_path))
    assert empty.code == 2 and "TEXT must not be empty" in empty.err and "input_text" not in empty.err


def test_errors_carry_no_errno_text_and_say_the_fix(tmp_path: Path) -> None:
    rec = make_run(tmp_path)
    target = tmp_path / "out.zip"
    target.write_bytes(b"keep me")
    exists = cli("export", rec.run_id, "-o", str(target), "-b", str(tmp_path))
    assert exists.code == 4 and "already exists" in exists.err and "--force" in exists.err
    assert "Errno" not in exists.err and target.read_bytes() == b"keep me"
    unreachable = cli("ls", "--server", f"http://127.0.0.1:{free_port()}")
    assert unreachable.code == 5
    assert "nothing listens there" in unreachable.err and "Errno" not in unreachable.err
    assert "pipeline-recorder serve" in unreachable.err
    missing = cli("import", str(tmp_path / "nope.zip"), "-b", str(tmp_path))
    assert missing.code == 3 and "Errno" not in missing.err and "nope.zip" in missing.err


@pytest.mark.parametrize("command", COMMANDS)
def test_help_names_values_by_their_metavar_never_by_a_python_type(command: str) -> None:
    result = cli(command, "--help")
    assert result.code == 0, result.text
    assert re.findall(r"<[a-zA-Z][^>]*>", result.out) == []
    usage = result.out.split("Usage: ", 1)[1].splitlines()[0]
    for piece in re.findall(r"[{\[]([A-Za-z_]+)[}\]]", usage):
        assert piece == "OPTIONS" or piece.isupper(), f"{command}: argument {piece!r} is not in capitals"


@pytest.mark.parametrize("args", [["ls", "--bogus"], ["gc", "--keep-last", "many"], ["run"], ["no-such-command"],
                                  ["show"], ["ls", "--limit", "0"]])
def test_a_bad_flag_or_argument_is_one_error_line_and_exit_2(args: list[str]) -> None:
    result = cli(*args)
    assert result.code == 2
    assert result.out == ""
    assert result.err.count("\n") == 1 and result.err.startswith("error: "), result.err
    assert "--help" in result.err and "╭" not in result.err


def test_ls_show_and_gc_print_times_in_one_format_with_the_zone_that_since_accepts(tmp_path: Path) -> None:
    rec = make_run(tmp_path)
    started = datetime.fromisoformat(rec.get_status()["timestamp"]).replace(microsecond=0)
    listed = cli("ls", "-b", str(tmp_path))
    shown = cli("show", rec.run_id, "-b", str(tmp_path))
    planned = cli("gc", "--older-than", "0s", "-b", str(tmp_path))
    for result in (listed, shown, planned):
        assert result.code == 0, result.text
        moments = MOMENT.findall(result.out)
        assert moments, result.out
        assert datetime.fromisoformat(moments[0]) == started
    again = cli("ls", "--since", MOMENT.findall(listed.out)[0], "--json", "-b", str(tmp_path))
    assert [run["run_id"] for run in json.loads(again.out)] == [rec.run_id]
