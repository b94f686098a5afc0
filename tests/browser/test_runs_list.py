"""The runs list read without opening runs: the first line of each run's input and final text, and why it ended."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser_harness import png_bytes

from pipeline_recorder import LivePipelineRecorder, new_run_id

pytestmark = pytest.mark.browser


def recorder(server: Any, config: str) -> LivePipelineRecorder:
    return LivePipelineRecorder(new_run_id(), config, "eco", "kids", base_path=server.base_path,
                                expected_outputs=["input", "translation", "interception"])


def lines_of(page: Any, run_id: str) -> dict[str, str]:
    row = f"#runs-body tr[data-run-id='{run_id}']"
    return {
        "input": page.text_content(f"{row} .run-input") if page.query_selector(f"{row} .run-input") else "",
        "output": page.text_content(f"{row} .run-output") if page.query_selector(f"{row} .run-output") else "",
        "reason": page.text_content(f"{row} .row-reason") if page.query_selector(f"{row} .row-reason") else "",
    }


def test_each_row_shows_the_first_lines_of_input_and_result_and_the_reason(
        viewer: Any, server: Any, artifacts: Path) -> None:
    done = recorder(server, "lines-check")
    done.save_entity("input", "Der erste Satz\nder zweite Satz")
    done.save_entity("translation", "The first sentence\nthe second sentence")
    done.set_state(2, "interception")
    done.save_entity("interception", "The final text\nits second line")
    done.finish("completed")

    failed = recorder(server, "lines-check")
    failed.save_entity("input", "  \nEin Drache")  # leading blank lines are skipped
    failed.save_entity("translation", "A dragon")
    failed.mark_failed("comfyui down")

    long = recorder(server, "lines-check")
    long.save_entity("input", "wort " * 2000 + "\nnever shown")
    long.save_entity("output_image", png_bytes())
    long.finish("completed")

    page = viewer.page
    ranges: list[str | None] = []
    page.on("request", lambda r: ranges.append(r.headers.get("range")) if "/file/" in r.url else None)
    page.goto("/")
    for rec in (done, failed, long):
        page.wait_for_selector(f"#runs-body tr[data-run-id='{rec.run_id}'] .run-input")
    assert lines_of(page, done.run_id) == {"input": "Input: Der erste Satz", "output": "Result: The final text",
                                          "reason": ""}
    # The translation is not the result: a run that stopped before the interception has none.
    assert lines_of(page, failed.run_id) == {"input": "Input: Ein Drache", "output": "", "reason": "comfyui down"}
    cut = lines_of(page, long.run_id)
    assert cut["input"].startswith("Input: wort wort") and cut["input"].endswith("…")
    assert len(cut["input"]) <= len("Input: ") + 120
    assert cut["output"] == ""
    # Only the start of each file is read, however long it is.
    assert ranges and all(r == "bytes=0-2047" for r in ranges)
    page.screenshot(path=str(artifacts / "runs-list-lines.png"), full_page=True)
    assert viewer.errors == []


def test_a_running_rows_result_appears_when_the_run_ends_without_a_reload(viewer: Any, server: Any) -> None:
    rec = recorder(server, "lines-live")
    rec.save_entity("input", "Ein Boot auf dem See")
    page = viewer.page
    page.goto("/")
    row = f"#runs-body tr[data-run-id='{rec.run_id}']"
    page.wait_for_selector(f"{row} .run-input")
    page.evaluate("window.__sameDocument = true")
    assert lines_of(page, rec.run_id)["output"] == ""
    rec.save_entity("translation", "A boat on the lake")
    rec.save_entity("interception", "A little boat floats on the lake")
    rec.finish("completed")
    page.wait_for_selector(f"{row}[data-status=completed] .run-output")
    assert lines_of(page, rec.run_id)["output"] == "Result: A little boat floats on the lake"
    assert page.evaluate("window.__sameDocument") is True


def test_the_lines_are_german_on_a_german_phone(german_viewer: Any, server: Any) -> None:
    rec = recorder(server, "lines-de")
    rec.save_entity("input", "Ein Fuchs im Schnee")
    rec.mark_failed("Zeitüberschreitung")
    page = german_viewer.page
    page.goto("/")
    page.wait_for_selector(f"#runs-body tr[data-run-id='{rec.run_id}'] .row-reason")
    assert lines_of(page, rec.run_id) == {"input": "Eingabe: Ein Fuchs im Schnee", "output": "",
                                          "reason": "Zeitüberschreitung"}
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert german_viewer.errors == []
