"""Deleting runs in the viewer, in a real browser against the real server: the run page's Delete button and the
list's Delete selected, each with an Undo banner; the disk says where the runs are. Keyboard, screen-reader
roles, a German phone, and a server that asks for its token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_harness import Server, running_server

from pipeline_recorder import LivePipelineRecorder, new_run_id

pytestmark = pytest.mark.browser

TOKEN = "trash-test-token"


def recorded(base: Path, text: str = "Ein Hund im Garten", finish: bool = True) -> LivePipelineRecorder:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=base,
                               expected_outputs=["input"])
    rec.save_entity("input", text)
    if finish:
        rec.mark_complete()
    return rec


def in_trash(base: Path, run_id: str) -> bool:
    return (base / "pipeline_runs" / ".trash" / run_id / "metadata.json").is_file()


def in_place(base: Path, run_id: str) -> bool:
    return (base / "pipeline_runs" / run_id / "metadata.json").is_file()


def test_the_run_page_deletes_by_keyboard_and_undo_restores(viewer: Any, server: Server, artifacts: Path) -> None:
    page = viewer.page
    rec = recorded(server.base_path)
    page.goto(f"/runs/{rec.run_id}")
    button = page.locator("#run-delete")
    button.wait_for(state="visible")
    assert button.inner_text() == "Delete run"
    button.focus()
    page.keyboard.press("Enter")
    banner = page.locator("#trash-banner .trash-message")
    banner.filter(has_text="moved to the trash").wait_for()
    assert banner.get_attribute("role") == "status"
    assert in_trash(server.base_path, rec.run_id) and not in_place(server.base_path, rec.run_id)
    assert page.locator("#run-delete").is_hidden()
    assert page.evaluate("document.activeElement.id") == "trash-undo"  # Undo is where the keyboard is
    page.screenshot(path=str(artifacts / "trash-run-deleted.png"), full_page=True)
    assert page.request.get(f"/api/pipeline/{rec.run_id}/status").status == 404
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/runs/{rec.run_id}")
    page.locator("#run-delete").wait_for(state="visible")
    assert in_place(server.base_path, rec.run_id) and not in_trash(server.base_path, rec.run_id)
    assert page.locator("#trash-banner").is_hidden()
    assert viewer.errors == []


def test_a_running_run_offers_no_delete(viewer: Any, server: Server) -> None:
    page = viewer.page
    rec = recorded(server.base_path, finish=False)
    page.goto(f"/runs/{rec.run_id}")
    page.locator("#run-status").filter(has_text="running").wait_for()
    assert page.locator("#run-delete").is_hidden()
    rec.mark_complete()
    page.locator("#run-delete").wait_for(state="visible")  # offered as soon as the run has ended


def test_the_list_deletes_the_selected_runs_and_undo_brings_them_back(viewer: Any, server: Server,
                                                                      artifacts: Path) -> None:
    page = viewer.page
    runs = [recorded(server.base_path, f"Lauf {n}") for n in range(3)]
    page.goto("/")
    button = page.locator("#delete-picked")
    for rec in runs[:2]:
        page.locator(f"tr[data-run-id='{rec.run_id}'] input.pick").check()
    assert button.inner_text() == "Delete 2 selected runs"
    button.click()
    page.locator("#trash-banner .trash-message").filter(has_text="2 runs were moved to the trash.").wait_for()
    for rec in runs[:2]:
        page.locator(f"tr[data-run-id='{rec.run_id}']").wait_for(state="detached")
        assert in_trash(server.base_path, rec.run_id)
    assert page.locator(f"tr[data-run-id='{runs[2].run_id}']").is_visible()
    assert button.is_disabled() and button.inner_text() == "Delete 0 selected runs"
    page.screenshot(path=str(artifacts / "trash-list-deleted.png"), full_page=True)
    page.locator("#trash-undo").click()
    page.locator("#trash-banner .trash-message").filter(has_text="2 runs were restored.").wait_for()
    for rec in runs[:2]:
        page.locator(f"tr[data-run-id='{rec.run_id}']").wait_for()
        assert in_place(server.base_path, rec.run_id)
    assert viewer.errors == []


def test_a_running_run_of_a_selection_is_refused_and_said_so(viewer: Any, server: Server) -> None:
    page = viewer.page
    done, running = recorded(server.base_path), recorded(server.base_path, finish=False)
    page.goto("/")
    for rec in (done, running):
        page.locator(f"tr[data-run-id='{rec.run_id}'] input.pick").check()
    page.locator("#delete-picked").click()
    page.locator("#trash-banner .trash-message").filter(has_text="1 run was moved to the trash.").wait_for()
    error = page.locator("#trash-banner .form-error")
    assert error.get_attribute("role") == "alert"
    assert running.run_id[:8] in error.inner_text() and "still running" in error.inner_text()
    assert in_place(server.base_path, running.run_id) and in_trash(server.base_path, done.run_id)
    running.mark_complete()


def test_german_on_a_phone(german_viewer: Any, server: Server, artifacts: Path) -> None:
    page = german_viewer.page
    rec = recorded(server.base_path)
    page.goto(f"/runs/{rec.run_id}")
    button = page.locator("#run-delete")
    button.wait_for(state="visible")
    assert button.inner_text() == "Lauf löschen"
    button.click()
    page.locator("#trash-banner .trash-message").filter(has_text="liegt jetzt im Papierkorb").wait_for()
    assert page.locator("#trash-undo").inner_text() == "Rückgängig"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the banner fits the phone's width"
    page.screenshot(path=str(artifacts / "trash-run-deleted-phone-de.png"), full_page=True)


@pytest.fixture
def token_server(tmp_path: Path) -> Iterator[Server]:
    with running_server(tmp_path, token=TOKEN) as url:
        yield Server(url, tmp_path)


def test_a_server_with_a_token_asks_for_it_before_deleting(browser: Any, token_server: Server) -> None:
    context = browser.new_context(base_url=token_server.url, locale="en-US")
    try:
        page = context.new_page()
        rec = recorded(token_server.base_path)
        page.goto(f"/runs/{rec.run_id}")
        page.locator("#run-delete").click()
        page.get_by_label("Deleting runs needs this server's access token").fill("wrong")
        page.get_by_role("button", name="Continue with this token").click()
        page.locator("#trash-banner .form-error").filter(has_text="refused that token").wait_for()
        assert in_place(token_server.base_path, rec.run_id)
        page.get_by_label("Deleting runs needs this server's access token").fill(TOKEN)
        page.get_by_role("button", name="Continue with this token").click()
        page.locator("#trash-banner .trash-message").filter(has_text="moved to the trash").wait_for()
        assert in_trash(token_server.base_path, rec.run_id)
    finally:
        context.close()
