"""`ls --kind --session --device --tag` and `annotate`, run as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from cli_harness import cli

from pipeline_recorder import LivePipelineRecorder


def _runs(base: Path) -> dict[str, str]:
    made = {}
    for name, fields in [("plain", {}),
                         ("canvas", {"kind": "canvas_workflow", "session_id": "class-4b", "device_id": "ws-1"}),
                         ("lab", {"kind": "latent_lab", "session_id": "class-4b", "device_id": "ws-2"})]:
        rec = LivePipelineRecorder(f"{name}-run", "stillepost", "eco", "kids", base_path=base, **fields)
        rec.mark_complete()
        made[rec.run_id] = name
    return made


def _listed(base: Path, *flags: str) -> set[str]:
    result = cli("ls", "-b", str(base), "--json", *flags)
    assert result.code == 0, result.text
    return {run["run_id"].removesuffix("-run") for run in json.loads(result.out)}


def test_ls_filters_by_kind_session_device_and_tag(tmp_path: Path) -> None:
    _runs(tmp_path)
    LivePipelineRecorder.open("lab-run", tmp_path).annotate(tags=["zoo"])
    assert _listed(tmp_path, "--kind", "canvas_workflow") == {"canvas"}
    assert _listed(tmp_path, "--session", "class-4b") == {"canvas", "lab"}
    assert _listed(tmp_path, "--device", "ws-2") == {"lab"}
    assert _listed(tmp_path, "--tag", "zoo") == {"lab"}
    table = cli("ls", "-b", str(tmp_path), "--tag", "zoo")
    assert "TAGS" in table.out and "zoo" in next(line for line in table.out.splitlines() if "lab-run" in line)


def test_ls_with_a_bad_filter_exits_2_and_says_what_is_accepted(tmp_path: Path) -> None:
    _runs(tmp_path)
    result = cli("ls", "-b", str(tmp_path), "--kind", "Canvas Workflow")
    assert result.code == 2 and "kind must be a lower-case name" in result.err


def test_annotate_adds_and_removes_tags_and_replaces_notes_of_an_ended_run(tmp_path: Path) -> None:
    _runs(tmp_path)
    result = cli("annotate", "canvas", "-b", str(tmp_path), "--tag", "zoo", "--tag", "dogs", "--notes", "Lena's dog")
    assert result.code == 0, result.text
    assert "tags: zoo, dogs" in result.out and "notes: Lena's dog" in result.out
    again = cli("annotate", "canvas-run", "-b", str(tmp_path), "--untag", "zoo", "--json")
    assert json.loads(again.out) == {"run_id": "canvas-run", "notes": "Lena's dog", "tags": ["dogs"]}
    doc = json.loads((tmp_path / "pipeline_runs" / "canvas-run" / "metadata.json").read_text())
    assert (doc["tags"], doc["notes"], doc["status"]) == (["dogs"], "Lena's dog", "completed")


def test_annotate_with_a_bad_tag_exits_2_and_changes_nothing(tmp_path: Path) -> None:
    _runs(tmp_path)
    path = tmp_path / "pipeline_runs" / "lab-run" / "metadata.json"
    before = path.read_bytes()
    result = cli("annotate", "lab-run", "-b", str(tmp_path), "--tag", "a,b")
    assert result.code == 2 and "without commas" in result.err
    assert path.read_bytes() == before


def test_annotate_and_ls_through_a_server_with_a_token(tmp_path: Path) -> None:
    from test_cli_server import start_server, stop_server

    _runs(tmp_path)
    server, url = start_server(tmp_path, {"PIPELINE_RECORDER_TOKEN": "s3cret-token-for-tests"})
    try:
        denied = cli("annotate", "lab-run", "--server", url, "--tag", "zoo")
        assert denied.code != 0 and "401" in denied.err
        done = cli("annotate", "lab", "--server", url, "--token", "s3cret-token-for-tests", "--tag", "zoo",
                   "--json")
        assert done.code == 0, done.text
        assert json.loads(done.out)["tags"] == ["zoo"]
        listed = cli("ls", "--server", url, "--token", "s3cret-token-for-tests", "--tag", "zoo", "--json")
        assert [run["run_id"] for run in json.loads(listed.out)] == ["lab-run"]
    finally:
        stop_server(server)
    doc = json.loads((tmp_path / "pipeline_runs" / "lab-run" / "metadata.json").read_text())
    assert doc["tags"] == ["zoo"]


def test_show_names_the_fields_and_an_old_run_shows_the_defaults(tmp_path: Path) -> None:
    _runs(tmp_path)
    LivePipelineRecorder.open("lab-run", tmp_path).annotate(tags=["[bold]zoo"], notes="a [red]note")
    result = cli("show", "lab-run", "-b", str(tmp_path))
    assert result.code == 0, result.text
    assert "latent_lab" in result.out and "class-4b / ws-2" in result.out
    assert "[bold]zoo" in result.out and "a [red]note" in result.out  # shown as typed, never as markup
    path = tmp_path / "pipeline_runs" / "plain-run" / "metadata.json"
    doc = json.loads(path.read_text())
    for key in ("kind", "session_id", "device_id", "models_used", "tags", "notes", "prompting_process"):
        del doc[key]
    path.write_text(json.dumps(doc))
    old = json.loads(cli("show", "plain-run", "-b", str(tmp_path), "--json").out)
    assert (old["kind"], old["session_id"], old["tags"], old["prompting_process"]) == ("pipeline", None, [], [])
