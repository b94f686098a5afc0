"""The run page's Cancel button in a real browser against the real server and its runner.

The server of this module also serves a config, ``slowtext``, whose language model is a local fake Ollama that holds
its answers until the test opens its gate: a run of it stays inside stage 1 for as long as the test needs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from browser_harness import Server, running_server
from fake_ollama import GatedOllama

from pipeline_recorder import LivePipelineRecorder, new_run_id

pytestmark = pytest.mark.browser

BUTTON = "#cancel-run"
TOKEN = "cancel-test-token"


def with_token(page: Any) -> None:
    """The page holds the server's token, as it does after the runs page asked for it once."""
    page.add_init_script(f"sessionStorage.setItem('pipeline-recorder-token', {TOKEN!r});")


def pump_until(page: Any, condition: Any, what: str, timeout_ms: int = 20_000) -> None:
    """Let Playwright deliver its events (route handlers run then) until ``condition()`` holds."""
    waited = 0
    while not condition():
        if waited > timeout_ms:
            raise AssertionError(f"timed out waiting for {what}")
        page.wait_for_timeout(10)
        waited += 10


@pytest.fixture(scope="module")
def slow_llm() -> Iterator[GatedOllama]:
    fake = GatedOllama()
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, slow_llm: GatedOllama) -> Iterator[Server]:
    """The real server with a token and one extra config dir: ``slowtext`` talks to the gated fake Ollama."""
    base = tmp_path_factory.mktemp("cancel-store")
    configs = tmp_path_factory.mktemp("cancel-configs")
    (configs / "slowtext.yaml").write_text(
        "description: a text pipeline whose model answers only when the test lets it\n"
        f"media: []\nretries: 0\ntimeout_seconds: 30\nbackends: {{text: ollama, ollama: {{url: '{slow_llm.url}'}}}}\n",
        encoding="utf-8")
    with running_server(base, (configs,), token=TOKEN) as url:
        yield Server(url, base)


def test_cancel_button_stops_a_running_pipeline_which_then_shows_cancelled_with_its_error(
    viewer: Any, server: Server, slow_llm: GatedOllama
) -> None:
    page = viewer.page
    with_token(page)
    page.goto("/")
    page.wait_for_selector("#start-config option[value=slowtext]", state="attached")
    page.select_option("#start-config", "slowtext")
    page.fill("#start-input", "A run that will be stopped")
    page.click("#start-submit")
    page.wait_for_url(re.compile(r"/runs/[0-9a-f-]{36}$"))
    run_id = page.url.rsplit("/", 1)[1]
    assert slow_llm.entered.wait(20), "the run never asked the model"  # it now waits inside stage 1

    button = page.wait_for_selector(BUTTON, state="visible")
    assert button.text_content() == "Cancel run"
    assert button.is_enabled()

    # Hold the cancel request so the test sees the button while the request is in flight.
    held: list[Any] = []
    page.route("**/cancel", lambda route: held.append(route))
    button.focus()
    page.keyboard.press("Enter")  # keyboard users can cancel too
    page.wait_for_function(f"() => document.querySelector('{BUTTON}').disabled")
    assert page.text_content(BUTTON) == "Cancelling…"
    pump_until(page, lambda: held, "the cancel request")
    request = held[0].request
    assert request.method == "POST" and request.url.endswith(f"/api/pipeline/{run_id}/cancel")
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert page.is_disabled(BUTTON)  # still in flight: it cannot be sent twice
    held[0].continue_()

    page.wait_for_selector("#cancel-message:has-text('Cancel requested')")
    assert page.is_disabled(BUTTON)
    slow_llm.gate.set()  # the model answers; the run meets its next stage boundary and stops there

    page.wait_for_selector("body[data-status=cancelled]")
    assert page.text_content("#run-status") == "cancelled"
    error = page.wait_for_selector("#entities li.kind-error .error-box")
    assert error.is_visible()
    assert "cancelled" in (page.text_content("#entities li.kind-error .error-message") or "")
    stopped = page.wait_for_selector("#timeline > li.stage-failed")
    assert "cancelled" in (stopped.text_content() or "")
    page.wait_for_selector(BUTTON, state="hidden")
    assert page.is_hidden("#cancel-box")

    doc = httpx.get(f"{server.url}/api/pipeline/{run_id}/status").json()
    assert doc["status"] == "cancelled"
    assert doc["entities"][-1]["type"] == "error"
    assert stopped.get_attribute("data-stage") == str(doc["entities"][-1]["metadata"]["stage"])
    assert viewer.errors == []


def test_cancel_button_is_absent_on_a_run_that_has_ended(viewer: Any, server: Server) -> None:
    rec = LivePipelineRecorder(new_run_id(), "ended-run", "eco", "kids", base_path=server.base_path,
                               expected_outputs=["input"])
    rec.save_entity("input", "done")
    rec.finish("completed")

    page = viewer.page
    page.goto(f"/runs/{rec.run_id}")
    page.wait_for_selector("body[data-status=completed]")
    assert page.is_hidden(BUTTON)
    assert page.is_hidden("#cancel-box")
    assert viewer.errors == []


def test_cancelling_a_run_this_server_does_not_run_says_so_and_leaves_the_button_usable(
    german_viewer: Any, server: Server
) -> None:
    # Recorded straight into the store, as another process would: running, but not by this server's runner.
    rec = LivePipelineRecorder(new_run_id(), "elsewhere", "eco", "kids", base_path=server.base_path,
                               expected_outputs=["input"])
    page = german_viewer.page
    with_token(page)
    page.goto(f"/runs/{rec.run_id}")
    page.wait_for_selector("body[data-status=running]")
    button = page.wait_for_selector(BUTTON, state="visible")
    assert button.text_content() == "Lauf abbrechen"
    button.click()

    alert = page.wait_for_selector("#cancel-error[role=alert]", state="visible")
    assert "Dieser Server führt diesen Lauf nicht aus" in (alert.text_content() or "")
    page.wait_for_function(f"() => !document.querySelector('{BUTTON}').disabled")
    assert page.text_content(BUTTON) == "Lauf abbrechen"
    assert httpx.get(f"{server.url}/api/pipeline/{rec.run_id}/status").json()["status"] == "running"

    rec.finish("completed")  # its own writer ends it: the button and the message go away
    page.wait_for_selector("body[data-status=completed]")
    assert page.is_hidden("#cancel-box")
    assert german_viewer.errors == []


def test_a_cancel_the_server_refuses_shows_the_servers_reason_and_the_button_stays_usable(
    viewer: Any, server: Server
) -> None:
    rec = LivePipelineRecorder(new_run_id(), "refused", "eco", "kids", base_path=server.base_path,
                               expected_outputs=["input"])
    page = viewer.page  # opened straight from a link: this tab was never given the server's token
    page.goto(f"/runs/{rec.run_id}")
    page.click(BUTTON)
    alert = page.wait_for_selector("#cancel-error", state="visible")
    text = alert.text_content() or ""
    assert text.startswith("The run could not be cancelled: this route needs the server's token")
    page.wait_for_function(f"() => !document.querySelector('{BUTTON}').disabled")
    rec.finish("completed")
    page.wait_for_selector("body[data-status=completed]")
    assert page.is_hidden("#cancel-box")
    assert viewer.errors == []
