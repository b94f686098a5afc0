"""The run page's "Export this session" button in Chromium against a real server with a token: the file it
downloads holds the session's runs, as the store holds them, with pseudonyms instead of the children's ids."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_harness import Server, running_server

from pipeline_recorder import LivePipelineRecorder, new_run_id, runformat
from pipeline_recorder.document import MetadataDocument
from pipeline_recorder.liveness import current_owner
from pipeline_recorder.stores.folder import FolderStore

pytestmark = pytest.mark.browser

TOKEN = "session-export-token"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("session-store")
    with running_server(base, token=TOKEN) as url:
        yield Server(url, base)


def _record(base: Path, user: str, words: str, session: str | None) -> str:
    """A completed run whose metadata.json holds its session and device, as a recorder that sets them writes it."""
    run_id, store = new_run_id(), FolderStore(base)
    header = runformat.new_header(run_id=run_id, config_name="stillepost", execution_mode="eco", safety_level="kids",
                                  user_id=user, expected_outputs=["input", "output_image"], owner=current_owner())
    header.update(session_id=session, device_id="tablet-07")
    assert store.create_run(run_id, MetadataDocument(header, []))
    rec = LivePipelineRecorder(run_id, base_path=store)
    rec.save_entity("input", words)
    rec.save_entity("output_image", b"\x89PNG\r\n\x1a\n" + bytes(24))
    rec.mark_complete()
    return rec.run_id


def test_export_this_session_downloads_the_sessions_runs_pseudonymised(viewer: Any, server: Server,
                                                                       artifacts: Path) -> None:
    anna = _record(server.base_path, "child-anna", "Ein Hund", "class-4b")
    ben = _record(server.base_path, "child-ben", "Eine Katze", "class-4b")
    _record(server.base_path, "child-anna", "Anderswo", "class-5a")
    page = viewer.page
    page.goto(f"/runs/{anna}")
    box = page.locator("#session-export")
    box.wait_for()
    assert page.locator("#session-export-session").inner_text() == "class-4b"
    page.select_option("#session-export-format", "csv")
    page.click("#session-export-button")
    page.locator("#session-export-token-form").wait_for()  # the server asked for its token
    page.fill("#session-export-token", TOKEN)
    with page.expect_download() as download_info:
        page.click("#session-export-token-form button")
    download = download_info.value
    assert download.suggested_filename == "session-class-4b.csv"
    data = Path(download.path()).read_bytes()
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))
    assert [row["run_id"] for row in rows] == [anna, anna, ben, ben]
    for row in rows:
        on_disk = (server.base_path / "pipeline_runs" / row["run_id"] / row["filename"]).read_bytes()
        assert row["sha256"] == hashlib.sha256(on_disk).hexdigest()
    assert b"child-anna" not in data and b"child-ben" not in data and b"tablet-07" not in data
    assert rows[0]["user_id"] != rows[2]["user_id"] and rows[0]["user_id"].startswith("user-")
    page.locator("#session-export-message").filter(has_text="session-class-4b.csv").wait_for()
    page.screenshot(path=str(artifacts / "session-export.png"), full_page=True)

    # The token is now held by the tab: the archive downloads at once, and import would read it.
    page.select_option("#session-export-format", "zip")
    page.uncheck("#session-export-pseudonymise")
    with page.expect_download() as download_info:
        page.click("#session-export-button")
    with zipfile.ZipFile(download_info.value.path()) as archive:
        assert json.loads(archive.read("manifest.json"))["runs"] == [anna, ben]
        assert archive.read(f"{ben}/01_input.txt") == b"Eine Katze"
    assert viewer.errors == []


def test_a_run_without_a_session_shows_no_export_box(viewer: Any, server: Server) -> None:
    alone = _record(server.base_path, "child-anna", "Allein", None)
    page = viewer.page
    page.goto(f"/runs/{alone}")
    page.locator("#run-status").filter(has_text="completed").wait_for()
    assert page.locator("#session-export").is_hidden()
