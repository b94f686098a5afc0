"""The research fields in the viewer: the runs list filtered by kind, session, device and tag (kept in the
address), and each run's kind, session, device and tags shown in its row."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_harness import Server, running_server

from pipeline_recorder import LivePipelineRecorder, new_run_id
from support import wait_until

pytestmark = pytest.mark.browser


def make(server: Any, **fields: Any) -> str:
    tags = fields.pop("tags", None)
    rec = LivePipelineRecorder(new_run_id(), "fields-check", "eco", "kids", base_path=server.base_path,
                               expected_outputs=["input"], **fields)
    rec.save_entity("input", "Ein Hund")
    rec.mark_complete()
    if tags:
        rec.annotate(tags=tags)
    return rec.run_id


def shown(page: Any) -> set[str]:
    return set(page.eval_on_selector_all("#runs-body tr", "rows => rows.map(r => r.dataset.runId)"))


def test_the_list_filters_by_kind_session_device_and_tag_and_shows_them(viewer: Any, server: Any,
                                                                        artifacts: Path) -> None:
    session = f"class-{new_run_id()[:8]}"
    canvas = make(server, kind="canvas_workflow", session_id=session, device_id="ws-1", tags=["zoo", "dogs"])
    lab = make(server, kind="latent_lab", session_id=session, device_id="ws-2", tags=["zoo"])
    other = make(server, tags=["cats"])
    page = viewer.page
    page.goto("/")
    page.fill("#filter-session", session)
    wait_until(lambda: shown(page) == {canvas, lab}, what="the session filter to apply")
    page.fill("#filter-tag", "dogs")
    wait_until(lambda: shown(page) == {canvas}, what="the tag filter to apply")
    assert f"session_id={session}" in page.url and "tag=dogs" in page.url
    row = f"#runs-body tr[data-run-id='{canvas}']"
    assert page.text_content(f"{row} .run-label-kind") == "Kind: canvas_workflow"
    assert page.text_content(f"{row} .run-label-device") == "Device: ws-1"
    assert page.eval_on_selector_all(f"{row} .run-tag", "tags => tags.map(t => t.textContent)") == ["zoo", "dogs"]
    page.screenshot(path=str(artifacts / "runs-list-research-filters.png"), full_page=True)

    page.reload()  # the filters live in the address
    wait_until(lambda: shown(page) == {canvas}, what="the filters from the address")
    assert page.input_value("#filter-tag") == "dogs"
    page.fill("#filter-tag", "")
    page.fill("#filter-session", "")
    page.fill("#filter-kind", "latent_lab")
    wait_until(lambda: lab in shown(page) and canvas not in shown(page) and other not in shown(page),
               what="the kind filter to apply")
    assert viewer.errors == []


def test_the_german_phone_view_labels_the_fields(german_viewer: Any, server: Any, artifacts: Path) -> None:
    run_id = make(server, kind="latent_lab", session_id=f"s-{new_run_id()[:8]}", tags=["wald"])
    page = german_viewer.page
    page.goto("/?tag=wald")
    page.wait_for_selector(f"#runs-body tr[data-run-id='{run_id}'] .run-label-session")
    assert page.text_content("label[for='filter-session']") == "Sitzung"
    assert page.text_content(f"#runs-body tr[data-run-id='{run_id}'] .run-label-kind") == "Art: latent_lab"
    page.screenshot(path=str(artifacts / "runs-list-research-filters-de-phone.png"), full_page=True)
    assert german_viewer.errors == []


TOKEN = "annotate-token-1234"


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("annotations-store")
    with running_server(base, token=TOKEN) as url:
        yield Server(url, base)


def test_notes_and_tags_are_edited_on_the_run_page_with_the_token(browser: Any, token_server: Server,
                                                                  artifacts: Path) -> None:
    rec = LivePipelineRecorder(new_run_id(), "fields-check", "eco", "kids", base_path=token_server.base_path,
                               expected_outputs=["input"], kind="latent_lab", session_id="class-4b")
    rec.save_entity("input", "Ein Hund")
    rec.set_model("stage2_interception", "ollama/gpt-oss:20b")
    rec.mark_complete()
    context = browser.new_context(base_url=token_server.url, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"/runs/{rec.run_id}")
    page.wait_for_selector("#run-facts dt")  # the page has read the run's status
    facts = page.text_content("#run-facts")
    assert "latent_lab" in facts and "class-4b" in facts and "ollama/gpt-oss:20b" in facts
    page.click("#annotations-edit")
    page.fill("#annotations-tags-input", "zoo, dogs")
    page.fill("#annotations-notes-input", "Lena explained\nher prompt")
    page.click("#annotations-form button[type=submit]")
    page.wait_for_selector("#annotations-token-field:not([hidden])")  # 401: the server asks for its token
    assert "access token" in page.text_content("#annotations-error")
    assert "tags" not in json.loads((rec.run_folder / "metadata.json").read_text()) or \
        json.loads((rec.run_folder / "metadata.json").read_text())["tags"] == []
    page.fill("#annotations-token", TOKEN)
    page.click("#annotations-form button[type=submit]")
    page.wait_for_selector("#annotations-tags:not([hidden])")
    assert page.eval_on_selector_all("#annotations-tags li", "li => li.map(x => x.textContent)") == ["zoo", "dogs"]
    assert page.text_content("#annotations-notes") == "Lena explained\nher prompt"
    stored = json.loads((rec.run_folder / "metadata.json").read_text())
    assert (stored["tags"], stored["notes"], stored["status"]) == (["zoo", "dogs"], "Lena explained\nher prompt",
                                                                   "completed")
    page.screenshot(path=str(artifacts / "run-page-notes-and-tags.png"), full_page=True)

    page.click("#annotations-edit")  # a bad tag: the server's words, nothing stored
    page.fill("#annotations-tags-input", "x" * 70)
    page.click("#annotations-form button[type=submit]")
    page.wait_for_selector("#annotations-error:not([hidden])")
    assert "1-64 characters" in page.text_content("#annotations-error")
    assert json.loads((rec.run_folder / "metadata.json").read_text())["tags"] == ["zoo", "dogs"]
    assert errors == []
    context.close()


def test_a_running_runs_page_sees_notes_and_tags_given_elsewhere(viewer: Any, server: Any) -> None:
    rec = LivePipelineRecorder(new_run_id(), "fields-check", "eco", "kids", base_path=server.base_path,
                               expected_outputs=["input", "translation"])
    rec.save_entity("input", "Ein Hund")
    page = viewer.page
    page.goto(f"/runs/{rec.run_id}")
    page.wait_for_selector("body[data-follow='stream']")
    rec.annotate(tags=["live"], notes="seen while running")
    page.wait_for_selector("#annotations-tags li")
    assert page.text_content("#annotations-tags") == "live"
    assert page.text_content("#annotations-notes") == "seen while running"
    rec.mark_complete()
    assert viewer.errors == []


def test_the_run_page_shows_the_prompting_process_as_a_timeline_of_edits(viewer: Any, server: Any,
                                                                        artifacts: Path) -> None:
    from browser_harness import png_bytes

    rec = LivePipelineRecorder(new_run_id(), "fields-check", "eco", "kids", base_path=server.base_path,
                               expected_outputs=["input", "output_image"])
    rec.save_process_step("input", "Ein Hund")
    rec.save_process_step("parameters", {"seed": 1, "style": "pencil"})
    rec.save_process_step("input", "Ein kleiner Hund im Garten")
    rec.save_entity("input", "Ein kleiner Hund im Garten")
    page = viewer.page
    page.goto(f"/runs/{rec.run_id}")
    page.wait_for_selector("#process-steps #step-3")
    heads = page.eval_on_selector_all("#process-steps .entity-head h3", "hs => hs.map(h => h.textContent)")
    assert heads == ["#1 input", "#2 parameters", "#3 input"]
    page.wait_for_function("() => document.querySelector('#step-3 .entity-body').textContent"
                           ".includes('Ein kleiner Hund im Garten')")  # the body is fetched after the card shows
    assert page.text_content("#entities .entity-head h3") == "#1 input"  # the main entities keep their numbers
    page.wait_for_selector("body[data-follow='stream']")
    rec.save_process_step("output_image", png_bytes(), {"try": 1})  # arrives while the page follows the run
    page.wait_for_selector("#step-4 img")
    assert page.get_attribute("#step-4 img", "src").endswith(
        f"/api/pipeline/{rec.run_id}/process/004_output_image.png")
    wait_until(lambda: page.evaluate("document.querySelector('#step-4 img').naturalWidth") > 0,
               what="the step's image to load")
    page.screenshot(path=str(artifacts / "run-page-prompting-process.png"), full_page=True)
    rec.mark_complete()
    assert viewer.errors == []
