"""The web viewer in a real browser (Debian's chromium) against the real server: what a person sees."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser_harness import png_bytes, wav_bytes

from pipeline_recorder import LivePipelineRecorder, new_run_id
from support import wait_until

pytestmark = pytest.mark.browser

STATIC = Path(__file__).resolve().parents[2] / "src" / "pipeline_recorder" / "web" / "static"
MARKUP = "<img src=x onerror=alert(1)>"


def record(server: Any, config: str, expected: list[str]) -> LivePipelineRecorder:
    """A run recorded straight into the server's store, as another process or a CLI run would."""
    return LivePipelineRecorder(new_run_id(), config, "eco", "kids", base_path=server.base_path,
                                expected_outputs=expected)


def shown_entities(page: Any) -> list[tuple[int, str]]:
    pairs = page.eval_on_selector_all(
        "#entities > li", "items => items.map(li => [Number(li.dataset.sequence), li.dataset.type])"
    )
    return [(sequence, entity_type) for sequence, entity_type in pairs]


def progress_of(page: Any) -> tuple[float, float]:
    done, total = page.eval_on_selector("#run-progress", "bar => [bar.value, bar.max]")
    return done, total


def test_form_starts_a_run_whose_page_shows_every_entity_in_order_and_a_full_progress_bar(
    viewer: Any, server: Any, artifacts: Path
) -> None:
    page = viewer.page
    page.goto("/")
    page.wait_for_selector("#start-config option[value=stillepost]", state="attached")
    page.select_option("#start-config", "stillepost")
    page.fill("#start-input", "Ein Hund läuft über die Wiese")
    page.select_option("#start-mode", "eco")
    page.select_option("#start-safety", "kids")
    page.click("#start-submit")
    page.wait_for_url(re.compile(r"/runs/[0-9a-f-]{36}$"))
    run_id = page.url.rsplit("/", 1)[1]

    page.wait_for_selector("body[data-status=completed]", timeout=60_000)
    page.wait_for_selector("body[data-follow=stopped]")
    status = httpx.get(f"{server.url}/api/pipeline/{run_id}/status").json()
    recorded = [(e["sequence"], e["type"]) for e in status["entities"]]
    assert [t for _, t in recorded][:6] == status["expected_outputs"]
    wait_until(lambda: shown_entities(page) == recorded, what="every recorded entity on the page, in order")
    done, total = progress_of(page)
    assert (done, total) == (len(status["expected_outputs"]), len(status["expected_outputs"]))
    assert page.text_content("#progress-text") == f"{int(total)}/{int(total)}"
    page.wait_for_selector("#entities > li[data-type=input][data-loaded=true]")
    assert page.text_content("#entities > li[data-type=input] pre") == "Ein Hund läuft über die Wiese"
    stages = page.eval_on_selector_all("#timeline > li", "items => items.map(li => Number(li.dataset.stage))")
    assert stages == [0, 1, 2, 3, 4]
    assert viewer.errors == []
    # The run page's images load lazily: one that is far below the screen when the page inserts it (the texts
    # above it came first) loads only once the reader scrolls near it, so scroll to each, as a reader would.
    for image in page.locator("img").all():
        image.scroll_into_view_if_needed()
    page.wait_for_function("() => [...document.images].every(img => img.complete && img.naturalWidth > 0)")
    page.screenshot(path=str(artifacts / "run-page.png"), full_page=True)


def test_image_audio_and_error_entities_render_as_picture_player_and_highlighted_error(
    viewer: Any, server: Any
) -> None:
    rec = record(server, "media-check", ["input", "output_image", "output_audio", "output_video"])
    rec.save_entity("input", "a picture and a sound")
    rec.set_state(4, "media_generation")
    rec.save_entity("output_image", png_bytes(64, 48))
    rec.save_entity("output_audio", wav_bytes(0.5))
    rec.save_error(4, "backend_timeout", "ComfyUI did not answer within 30 s", {"backend": "comfyui"})
    rec.finish("failed")

    page = viewer.page
    page.goto(f"/runs/{rec.run_id}")
    page.wait_for_selector("body[data-status=failed]")
    page.wait_for_function(
        "() => { const img = document.querySelector('#entities li[data-type=output_image] img');"
        " return img && img.complete && img.naturalWidth === 64 && img.naturalHeight === 48; }"
    )
    audio = "#entities li[data-type=output_audio] audio"
    page.wait_for_function(f"() => document.querySelector('{audio}')?.readyState >= 1")
    duration = page.eval_on_selector(audio, "a => a.duration")
    assert duration == pytest.approx(0.5, abs=0.05)
    assert page.get_attribute(audio, "src") == f"/api/pipeline/{rec.run_id}/file/03_output_audio.wav"

    error = page.wait_for_selector("#entities li.kind-error .error-box")
    title = page.text_content("#entities li.kind-error .error-title") or ""
    assert "stage 4" in title.lower() and "Media generation" in title and "backend_timeout" in title
    assert page.text_content("#entities li.kind-error .error-message") == "ComfyUI did not answer within 30 s"
    assert error.is_visible()
    assert page.get_attribute("#timeline > li[data-stage='4']", "class") == "stage stage-failed"
    assert page.text_content("#run-status") == "failed"
    assert viewer.errors == []


def test_markup_in_entities_is_shown_as_text_and_runs_nothing(viewer: Any, server: Any) -> None:
    rec = record(server, "markup-check", ["input", "safety"])
    rec.save_entity("input", MARKUP, {"note": MARKUP})
    rec.save_entity("safety", {"verdict": MARKUP, MARKUP: [MARKUP]})
    rec.finish("completed")

    page = viewer.page
    page.add_init_script("window.alert = () => { window.__alerted = true; };")
    page.goto(f"/runs/{rec.run_id}")
    page.wait_for_selector("#entities > li[data-type=input][data-loaded=true]")
    page.wait_for_selector("#entities > li[data-type=safety][data-loaded=true]")
    page.click("#entities > li[data-type=input] .entity-meta summary")

    assert page.text_content("#entities > li[data-type=input] pre") == MARKUP
    assert MARKUP in (page.text_content("#entities > li[data-type=safety]") or "")
    assert MARKUP in (page.text_content("#entities > li[data-type=input] .entity-meta") or "")
    assert page.eval_on_selector_all("#entities img, #run-facts img", "found => found.length") == 0
    assert page.evaluate("window.__alerted === undefined")
    assert viewer.dialogs == []
    assert viewer.errors == []


def test_runs_page_lists_a_new_run_and_its_end_without_a_reload(viewer: Any, server: Any, artifacts: Path) -> None:
    page = viewer.page
    page.goto("/")
    page.wait_for_selector("#runs-summary:not(:empty)")
    page.evaluate("window.__sameDocument = true")

    rec = record(server, "appears-live", ["input"])
    row = f"#runs-body tr[data-run-id='{rec.run_id}']"
    page.wait_for_selector(row)
    assert page.text_content(f"{row} .badge") == "running"
    rec.save_entity("input", "hello")
    rec.finish("completed")
    page.wait_for_selector(f"{row}[data-status=completed]")
    assert page.text_content(f"{row} .progress-text") == "1/1"
    assert page.eval_on_selector("#runs-body tr", "first => first.dataset.runId") == rec.run_id  # newest first
    assert page.evaluate("window.__sameDocument") is True
    page.screenshot(path=str(artifacts / "runs-page.png"), full_page=True)


def test_run_page_shows_entities_saved_after_it_opened_through_the_event_stream(viewer: Any, server: Any) -> None:
    rec = record(server, "streamed", ["input", "translation"])
    rec.save_entity("input", "first")
    page = viewer.page
    page.goto(f"/runs/{rec.run_id}")
    page.wait_for_selector("body[data-follow=stream]")
    page.wait_for_selector("#entities > li[data-type=input]")

    rec.set_state(1, "translation_and_safety")
    page.wait_for_selector("#run-state:has-text('translation_and_safety')")
    rec.save_entity("translation", "second")
    page.wait_for_selector("#entities > li[data-type=translation][data-loaded=true]")
    assert shown_entities(page) == [(1, "input"), (2, "translation")]
    rec.finish("completed")
    page.wait_for_selector("body[data-follow=stopped][data-status=completed]")
    assert progress_of(page) == (2, 2)


def test_run_page_falls_back_to_polling_status_with_if_none_match_when_the_stream_fails(
    viewer: Any, server: Any
) -> None:
    rec = record(server, "polled", ["input", "translation"])
    rec.save_entity("input", "first")
    page = viewer.page
    page.route("**/events", lambda route: route.abort())
    conditional: list[str] = []
    page.on("request", lambda r: conditional.append(r.url) if r.url.endswith("/status")
            and "if-none-match" in r.headers else None)

    # Playwright delivers the page's responses only while the test is inside a Playwright call, so the wait for
    # the 304 is Playwright's own (a Python poll of a list the handler fills would never see it arrive).
    with page.expect_response(lambda r: r.url.endswith("/status") and r.status == 304):
        page.goto(f"/runs/{rec.run_id}")
        page.wait_for_selector("body[data-follow=polling]")
    rec.save_entity("translation", "arrived by polling")
    page.wait_for_selector("#entities > li[data-type=translation][data-loaded=true]")
    assert page.text_content("#entities > li[data-type=translation] pre") == "arrived by polling"
    assert progress_of(page) == (2, 2)
    rec.finish("completed")
    page.wait_for_selector("body[data-follow=stopped][data-status=completed]")
    assert conditional


def test_german_browser_gets_the_viewer_in_german_on_a_phone_width_screen(german_viewer: Any) -> None:
    page = german_viewer.page
    page.goto("/")
    page.wait_for_selector("#runs-summary:not(:empty)")
    assert page.get_attribute("html", "lang") == "de"
    assert page.text_content("h1") == "Läufe"
    assert page.text_content("label[for=start-input]") == "Eingabetext"
    # Nothing wider than the screen: no sideways scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert german_viewer.errors == []


def test_every_form_control_has_a_label_and_focus_is_visible(viewer: Any) -> None:
    page = viewer.page
    page.goto("/")
    page.wait_for_selector("#start-config option", state="attached")
    unlabelled = page.eval_on_selector_all(
        "input, select, textarea",
        "els => els.filter(el => !el.labels?.length && !el.getAttribute('aria-label')).map(el => el.id)",
    )
    assert unlabelled == []
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.classList.contains('skip-link')")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"


def test_german_and_english_texts_have_the_same_keys() -> None:
    english = json.loads((STATIC / "i18n" / "en.json").read_text(encoding="utf-8"))
    german = json.loads((STATIC / "i18n" / "de.json").read_text(encoding="utf-8"))
    assert sorted(english) == sorted(german)


def test_status_filter_shows_only_matching_runs_and_is_kept_in_the_address(viewer: Any, server: Any) -> None:
    failed = record(server, "filter-check", ["input"])
    failed.finish("failed")
    done = record(server, "filter-check", ["input"])
    done.save_entity("input", "fine")
    done.finish("completed")

    page = viewer.page
    page.goto("/")
    page.wait_for_selector(f"#runs-body tr[data-run-id='{done.run_id}']")
    page.select_option("#filter-status", "failed")
    page.wait_for_selector(f"#runs-body tr[data-run-id='{done.run_id}']", state="detached")
    page.wait_for_selector(f"#runs-body tr[data-run-id='{failed.run_id}']")
    assert set(page.eval_on_selector_all("#runs-body tr", "rows => rows.map(r => r.dataset.status)")) == {"failed"}
    assert page.url.endswith("/?status=failed")

    page.reload()
    page.wait_for_selector(f"#runs-body tr[data-run-id='{failed.run_id}']")
    assert page.input_value("#filter-status") == "failed"
    assert page.query_selector(f"#runs-body tr[data-run-id='{done.run_id}']") is None
