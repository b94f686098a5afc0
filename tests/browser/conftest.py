"""Fixtures for the browser tests: one real server and one chromium for the module, a fresh page per test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from browser_harness import Server, launch_chromium, running_server
from playwright.sync_api import sync_playwright

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@dataclass
class Watched:
    """A page plus what it did that a test may need to check: dialogs it opened, script errors it raised."""

    page: Any
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("viewer-store")
    with running_server(base) as url:
        yield Server(url, base)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as playwright:
        try:
            chromium = launch_chromium(playwright)
        except FileNotFoundError as exc:
            pytest.fail(str(exc), pytrace=False)
        yield chromium
        chromium.close()


def _watched(browser: Any, server: Server, locale: str, viewport: dict[str, int]) -> Iterator[Watched]:
    context = browser.new_context(base_url=server.url, locale=locale, viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(20_000)
    watched = Watched(page)

    def on_dialog(dialog: Any) -> None:
        watched.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: watched.errors.append(str(error)))
    yield watched
    context.close()


@pytest.fixture
def viewer(browser: Any, server: Server) -> Iterator[Watched]:
    """An English browser page on the server."""
    yield from _watched(browser, server, "en-US", {"width": 1280, "height": 900})


@pytest.fixture
def german_viewer(browser: Any, server: Server) -> Iterator[Watched]:
    """A German browser page on a phone-width screen."""
    yield from _watched(browser, server, "de-DE", {"width": 390, "height": 844})


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
