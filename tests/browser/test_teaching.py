"""Teaching aids in a real browser: the start form's defaults and its user/class field, the telephone chain shown
hop by hop, "run again with these settings" and the run page's zip download (with and without a server token)."""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser_harness import Server, running_server

from pipeline_recorder import LivePipelineRecorder, new_run_id

pytestmark = pytest.mark.browser

TOKEN = "teaching-test-token"
HOP_TEXT = """hop => { const copy = hop.querySelector('pre').cloneNode(true);
    copy.querySelectorAll('del').forEach(d => d.remove()); return copy.textContent; }"""


def hop_texts(page: Any) -> list[tuple[str, str]]:
    """Each hop of the chain as (data-hop, its text as told: removed words left out)."""
    pairs = page.eval_on_selector_all("#entities .chain li.hop", f"""hops => hops.map(hop => [hop.dataset.hop,
        ({HOP_TEXT})(hop)])""")
    return [(hop, text) for hop, text in pairs]


def test_start_form_defaults_to_stillepost_and_records_the_user_or_class_typed(
        viewer: Any, server: Any, artifacts: Path) -> None:
    page = viewer.page
    page.goto("/")
    page.wait_for_selector("#start-config option[value=stillepost]", state="attached")
    assert page.input_value("#start-config") == "stillepost"
    assert page.text_content("label[for=start-user]") == "User or class"
    page.fill("#start-input", "Ein Hund läuft über die Wiese")
    page.click("#start-user")
    page.keyboard.type("klasse-4b")
    page.click("#start-submit")
    page.wait_for_url(re.compile(r"/runs/[0-9a-f-]{36}$"))
    run_id = page.url.rsplit("/", 1)[1]
    page.wait_for_selector("body[data-status=completed]", timeout=60_000)
    assert httpx.get(f"{server.url}/api/pipeline/{run_id}/status").json()["user_id"] == "klasse-4b"
    assert "klasse-4b" in (page.text_content("#run-facts") or "")

    # The next run from this browser starts with the same user or class filled in.
    page.goto("/")
    page.wait_for_selector("#start-config option[value=stillepost]", state="attached")
    assert page.input_value("#start-user") == "klasse-4b"
    page.screenshot(path=str(artifacts / "start-form.png"))
    assert viewer.errors == []


def test_the_telephone_chain_of_a_stillepost_run_is_shown_hop_by_hop(viewer: Any, server: Any,
                                                                     artifacts: Path) -> None:
    answer = httpx.post(f"{server.url}/api/schema/pipeline/execute", timeout=60, json={
        "schema": "stillepost", "input_text": "Ein Hund läuft über die Wiese", "execution_mode": "eco",
        "safety_level": "kids"}).json()
    status = httpx.get(f"{server.url}/api/pipeline/{answer['run_id']}/status").json()
    interception = next(e for e in status["entities"] if e["type"] == "interception")
    translation = next(e for e in status["entities"] if e["type"] == "translation")
    translated = httpx.get(f"{server.url}/api/pipeline/{answer['run_id']}/file/{translation['filename']}").text

    page = viewer.page
    page.goto(f"/runs/{answer['run_id']}")
    page.wait_for_selector("#entities .chain[data-loaded=true]")
    assert page.text_content("#entities .chain h4") == "Telephone chain, hop by hop"
    chain = interception["metadata"]["chain"]
    # The embedded backend records each retelling's language (its rules speak English): {"text", "language"}.
    assert all(set(hop) == {"text", "language"} for hop in chain)
    assert hop_texts(page) == [("input", "Ein Hund läuft über die Wiese"), ("translation", translated),
                               *[(str(i + 1), hop["text"]) for i, hop in enumerate(chain)]]
    assert page.text_content("#entities li.hop-input .hop-language") == "language: de"
    languages = page.eval_on_selector_all("#entities .chain li.hop", """hops => hops.map(hop =>
        hop.querySelector('.hop-language')?.textContent ?? null)""")
    assert languages == ["language: de", "language: en", *["language: en"] * len(chain)]
    labels = page.eval_on_selector_all("#entities .chain .hop-label", "els => els.map(e => e.textContent)")
    assert labels[2:] == [f"Retelling {i + 1} of {len(chain)}" for i in range(len(chain))]
    # The chain is in plain view: no <details> to open first.
    assert page.eval_on_selector("#entities .chain", "el => el.closest('details') === null")
    page.screenshot(path=str(artifacts / "run-chain.png"), full_page=True)
    assert viewer.errors == []


def test_each_hop_shows_its_language_and_what_it_changed(viewer: Any, german_viewer: Any, server: Any) -> None:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=server.base_path,
                               expected_outputs=["input", "translation", "interception"])
    rec.save_entity("input", "Ein Hund schläft")
    rec.save_entity("translation", "A dog sleeps", {"stage": 1, "source_language": "de", "target_language": "en"})
    rec.save_entity("interception", "Une chatte dort", {"stage": 2, "chain": [
        {"language": "en", "text": "A dog sleeps"},
        {"language": "en", "text": "A cat sleeps"},
        {"language": "fr", "text": "Une chatte dort"},
    ]})
    rec.finish("completed")

    page = viewer.page
    page.goto(f"/runs/{rec.run_id}")
    page.wait_for_selector("#entities .chain[data-loaded=true]")
    languages = page.eval_on_selector_all("#entities .chain li.hop", """hops => hops.map(hop =>
        hop.querySelector('.hop-language')?.textContent ?? null)""")
    assert languages == ["language: de", "language: en", "language: en", "language: en", "language: fr"]
    assert page.text_content("#entities li.hop[data-hop='1'] .cell-note") == "Unchanged: told on as it was heard."
    second = "#entities li.hop[data-hop='2']"
    assert page.locator(f"{second} del").all_text_contents() == ["dog"]
    assert page.locator(f"{second} ins").all_text_contents() == ["cat"]
    assert page.eval_on_selector(second, HOP_TEXT) == "A cat sleeps"

    german = german_viewer.page
    german.goto(f"/runs/{rec.run_id}")
    german.wait_for_selector("#entities .chain[data-loaded=true]")
    assert german.text_content("#entities .chain h4") == "Stille Post, Schritt für Schritt"
    assert german.text_content("#entities li.hop[data-hop='3'] .hop-language") == "Sprache: fr"
    assert german.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert viewer.errors == [] and german_viewer.errors == []


def test_run_again_fills_the_form_with_the_runs_settings_and_starts_a_new_run(viewer: Any, server: Any) -> None:
    rec = LivePipelineRecorder(new_run_id(), "haiku", "eco", "adult", "klasse-7a", base_path=server.base_path,
                               expected_outputs=["input"])
    rec.save_entity("input", "Der Regen fällt leise\nauf das Dach")
    rec.finish("completed")

    page = viewer.page
    page.goto(f"/runs/{rec.run_id}")
    page.wait_for_selector("body[data-status=completed]")
    assert page.text_content("#run-again") == "Run again with these settings"
    page.focus("#run-again")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/\?again="))
    page.wait_for_selector("#start-again:not([hidden])")
    page.wait_for_function("() => document.getElementById('start-input').value !== ''")
    assert page.input_value("#start-config") == "haiku"
    assert page.input_value("#start-input") == "Der Regen fällt leise\nauf das Dach"
    assert page.input_value("#start-mode") == "eco"
    assert page.input_value("#start-safety") == "adult"
    assert page.input_value("#start-user") == "klasse-7a"
    assert page.text_content("#start-again") == (f"The form holds the settings and input of run {rec.run_id[:8]}: "
                                                 "change what you like, then press Start.")
    # One setting changed, as a teacher would to show the same prompt at another safety level.
    page.select_option("#start-safety", "youth")
    page.click("#start-submit")
    page.wait_for_url(re.compile(r"/runs/[0-9a-f-]{36}$"))
    new_id = page.url.rsplit("/", 1)[1]
    assert new_id != rec.run_id
    page.wait_for_selector("body[data-status=completed]", timeout=60_000)
    doc = httpx.get(f"{server.url}/api/pipeline/{new_id}/status").json()
    assert (doc["config_name"], doc["execution_mode"], doc["safety_level"], doc["user_id"]) == (
        "haiku", "eco", "youth", "klasse-7a")
    first = next(e for e in doc["entities"] if e["type"] == "input")
    assert httpx.get(f"{server.url}/api/pipeline/{new_id}/file/{first['filename']}").text == \
        "Der Regen fällt leise\nauf das Dach"
    assert viewer.errors == []


def zip_names(path: str) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


def finished_run(base: Path) -> LivePipelineRecorder:
    rec = LivePipelineRecorder(new_run_id(), "download-check", "eco", "kids", base_path=base,
                               expected_outputs=["input", "translation"])
    rec.save_entity("input", "zip me")
    rec.save_entity("translation", "zip me too")
    rec.finish("completed")
    return rec


def test_download_saves_the_run_as_a_zip(viewer: Any, server: Any, tmp_path: Path, artifacts: Path) -> None:
    rec = finished_run(server.base_path)
    page = viewer.page
    page.goto(f"/runs/{rec.run_id}")
    page.wait_for_selector("body[data-status=completed]")
    assert page.text_content("#run-download") == "Download (.zip)"
    page.screenshot(path=str(artifacts / "run-actions.png"))
    with page.expect_download() as info:
        page.click("#run-download")
    saved = tmp_path / "run.zip"
    info.value.save_as(saved)
    assert info.value.suggested_filename == f"{rec.run_id}.zip"
    assert {"manifest.json", f"{rec.run_id}/metadata.json", f"{rec.run_id}/01_input.txt",
            f"{rec.run_id}/02_translation.txt"} <= set(zip_names(str(saved)))
    with zipfile.ZipFile(saved) as archive:
        assert archive.read(f"{rec.run_id}/01_input.txt") == b"zip me"
        assert json.loads(archive.read(f"{rec.run_id}/metadata.json"))["run_id"] == rec.run_id
    assert viewer.errors == []


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("download-token-store")
    with running_server(base, token=TOKEN) as url:
        yield Server(url, base)


def test_download_from_a_server_with_a_token_asks_for_it_and_sends_it(browser: Any, token_server: Server,
                                                                      tmp_path: Path) -> None:
    rec = finished_run(token_server.base_path)
    context = browser.new_context(base_url=token_server.url, locale="en-US", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    sent: list[str | None] = []
    page.on("request", lambda r: sent.append(r.headers.get("authorization")) if r.url.endswith("/export") else None)
    try:
        page.goto(f"/runs/{rec.run_id}")
        page.wait_for_selector("body[data-status=completed]")
        page.click("#run-download")
        page.wait_for_selector("#download-token-form:not([hidden])")
        assert page.text_content("label[for=download-token]") == \
            "This server needs its access token to download a run"
        assert page.evaluate("document.activeElement.id") == "download-token"

        page.keyboard.type("not-the-token")
        page.keyboard.press("Enter")
        page.wait_for_selector("#download-error:has-text('did not accept')")
        assert page.text_content("#download-error") == "The server did not accept the token this tab holds."

        page.fill("#download-token", TOKEN)
        with page.expect_download() as info:
            page.click("#download-token-form button")
        saved = tmp_path / "with-token.zip"
        info.value.save_as(saved)
        assert f"{rec.run_id}/metadata.json" in zip_names(str(saved))
        assert sent[-1] == f"Bearer {TOKEN}"
        page.wait_for_selector("#download-token-form[hidden]", state="attached")
        # The tab keeps the token: the next download needs no asking.
        with page.expect_download():
            page.click("#run-download")
    finally:
        context.close()
