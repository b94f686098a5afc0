"""What the viewer says about a run when there is less than a finished run to show: why it failed, that it does
not exist; and the runs page's date-and-time filters showing the time they hold."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from pipeline_recorder import LivePipelineRecorder, new_run_id

pytestmark = pytest.mark.browser


def test_a_failed_runs_page_says_why_it_failed(viewer: Any, german_viewer: Any, server: Any,
                                               artifacts: Path) -> None:
    rec = LivePipelineRecorder(new_run_id(), "reason-check", "eco", "kids", base_path=server.base_path,
                               expected_outputs=["input", "output_image"])
    rec.save_entity("input", "a red kite")
    rec.mark_failed("comfyui down")

    page = viewer.page
    page.goto(f"/runs/{rec.run_id}")
    page.wait_for_selector("body[data-status=failed]")
    assert page.text_content("#run-status") == "failed"
    assert page.is_visible("#run-reason")
    assert page.text_content("#run-reason") == "Reason: comfyui down"
    page.screenshot(path=str(artifacts / "run-failed-reason.png"))

    german = german_viewer.page
    german.goto(f"/runs/{rec.run_id}")
    german.wait_for_selector("body[data-status=failed]")
    assert german.text_content("#run-reason") == "Grund: comfyui down"
    assert viewer.errors == [] and german_viewer.errors == []


def test_a_completed_run_without_a_reason_shows_no_reason_line(viewer: Any, server: Any) -> None:
    rec = LivePipelineRecorder(new_run_id(), "no-reason", "eco", "kids", base_path=server.base_path,
                               expected_outputs=["input"])
    rec.save_entity("input", "fine")
    rec.finish("completed")
    page = viewer.page
    page.goto(f"/runs/{rec.run_id}")
    page.wait_for_selector("body[data-status=completed]")
    assert not page.is_visible("#run-reason")


def test_an_unknown_runs_page_answers_404_and_says_there_is_no_such_run(viewer: Any, german_viewer: Any,
                                                                       server: Any, artifacts: Path) -> None:
    missing = new_run_id()
    answer = httpx.get(f"{server.url}/runs/{missing}")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in answer.headers["content-security-policy"]

    page = viewer.page
    response = page.goto(f"/runs/{missing}")
    assert response is not None and response.status == 404
    page.wait_for_selector(f"#missing-text:has-text('{missing}')")
    assert page.text_content("h1") == "No such run"
    assert page.text_content("#missing-text") == f"There is no run {missing}."
    # Nothing that looks like an empty run: no status badge, no progress, no entity list.
    assert page.query_selector(".badge, progress, #entities") is None
    assert "0/0" not in (page.text_content("main") or "")
    page.screenshot(path=str(artifacts / "run-missing.png"))
    page.click("main a[href='/']")
    page.wait_for_url(re.compile(r"/$"))
    page.wait_for_selector("#runs-summary:not(:empty)")

    german = german_viewer.page
    response = german.goto(f"/runs/{missing}")
    assert response is not None and response.status == 404
    german.wait_for_selector(f"#missing-text:has-text('{missing}')")
    assert german.text_content("h1") == "Diesen Lauf gibt es nicht"
    assert german.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert viewer.errors == [] and german_viewer.errors == []


def test_a_run_that_vanishes_shows_only_the_message_not_an_empty_run(viewer: Any) -> None:
    # The run page itself, opened for a run the API does not know (?run= works without the server's check).
    missing = new_run_id()
    page = viewer.page
    page.goto(f"/static/run.html?run={missing}")
    page.wait_for_selector("body[data-status=unavailable]")
    assert page.text_content("#run-error") == f"There is no run {missing}."
    assert not page.is_visible("#run-progress")
    assert not page.is_visible("#entities-empty")
    assert not page.is_visible("#timeline")


def test_started_after_and_before_keep_and_show_their_time_part(viewer: Any, artifacts: Path) -> None:
    page = viewer.page
    page.goto("/")
    page.wait_for_selector("#runs-summary:not(:empty)")
    queries: list[dict[str, list[str]]] = []
    page.on("request", lambda r: queries.append(parse_qs(urlsplit(r.url).query))
            if "/api/pipeline/runs" in r.url else None)

    # Typed as a person types into Chromium's date-and-time field: month, day, year (a year may have more than four
    # digits, so the arrow key moves on), hour, minute, second, PM or AM.
    for field, date, time in (("#filter-since", "12012026", "023045P"), ("#filter-until", "12022026", "113005A")):
        page.focus(field)
        page.keyboard.type(date)
        page.keyboard.press("ArrowRight")
        page.keyboard.type(time)
    page.keyboard.press("Tab")
    assert page.input_value("#filter-since") == "2026-12-01T14:30:45"
    assert page.input_value("#filter-until") == "2026-12-02T11:30:05"

    # What the listing is asked for keeps the time, converted from local time to UTC by the browser's own clock.
    expected_since = page.evaluate("new Date('2026-12-01T14:30:45').toISOString()")
    page.wait_for_function("() => new URLSearchParams(location.search).get('until') === '2026-12-02T11:30:05'")
    assert any(q.get("since") == [expected_since] for q in queries)

    # Each field is at least as wide as the browser needs to show its whole value, the time included.
    for field in ("#filter-since", "#filter-until"):
        shown, needed = page.eval_on_selector(field, """el => {
            const copy = el.cloneNode();
            copy.value = el.value;
            Object.assign(copy.style, {position: 'absolute', width: 'auto', maxWidth: 'none', flex: 'none'});
            el.parentElement.append(copy);
            const widths = [el.getBoundingClientRect().width, copy.getBoundingClientRect().width];
            copy.remove();
            return widths;
        }""")
        assert shown >= needed - 0.5, f"{field} is {shown} px wide but needs {needed} px to show date and time"
    page.screenshot(path=str(artifacts / "runs-filters-time.png"))

    page.reload()
    page.wait_for_selector("#runs-summary:not(:empty)")
    assert page.input_value("#filter-since") == "2026-12-01T14:30:45"
    assert page.input_value("#filter-until") == "2026-12-02T11:30:05"
    assert viewer.errors == []
