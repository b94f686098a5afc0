"""Make docs/VIEWER.md's screenshots of the viewer:
`PYTHONPATH=tests .venv/bin/python tests/browser/make_screenshots.py [OUT_DIR]`.

Starts the real server on a free loopback port over a fresh temporary store, runs a few shipped pipelines through
the API (embedded offline backend), and saves the runs page, a finished run page and a comparison of two runs as
PNG files (default OUT_DIR: docs/screenshots).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import httpx
from browser_harness import launch_chromium, running_server
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
RUNS = [
    ("haiku", "Der Regen fällt leise auf das Dach", "eco", "kids"),
    ("klangbild", "A train passes a quiet village at night", "eco", "youth"),
    ("stillepost", "Ein Hund rennt über die Wiese", "eco", "youth"),
    ("stillepost", "Ein Hund läuft über die Wiese", "eco", "kids"),
]
SHOTS = ("runs-page.png", "run-page.png", "compare-page.png")


def main(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as base, running_server(Path(base)) as url:
        run_ids = []
        for schema, text, mode, safety in RUNS:
            answer = httpx.post(f"{url}/api/schema/pipeline/execute", timeout=60, json={
                "schema": schema, "input_text": text, "execution_mode": mode, "safety_level": safety})
            answer.raise_for_status()
            run_ids.append(answer.json()["run_id"])
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = browser.new_page(base_url=url, locale="en-US", viewport={"width": 1280, "height": 860})
            page.goto("/")
            page.wait_for_selector(f"#runs-body tr[data-run-id='{run_ids[-1]}']")
            # The two stillepost rows' thumbnails, loaded (the Output column).
            page.wait_for_function("() => [...document.querySelectorAll('#runs-body img.thumb')]"
                                   ".filter(img => img.complete && img.naturalWidth > 0).length >= 2")
            page.screenshot(path=str(out_dir / "runs-page.png"))
            page.goto(f"/runs/{run_ids[-1]}")
            page.wait_for_selector("body[data-follow=stopped]")
            page.wait_for_selector("#entities .chain[data-loaded=true]")
            page.wait_for_function("() => [...document.querySelectorAll('#entities > li')]"
                                   ".every(li => li.dataset.loaded === 'true')")
            page.wait_for_function("() => [...document.images].every(img => img.complete)")
            page.screenshot(path=str(out_dir / "run-page.png"), full_page=True)
            # The two telephone games side by side (one prompt in two wordings, at two safety levels).
            page.goto("/compare?runs=" + ",".join(run_ids[-1:-3:-1]))
            page.wait_for_selector("body[data-state=ready]")
            page.wait_for_selector("#aligned .compare-cell:not([data-loaded])", state="detached")
            page.wait_for_function("() => [...document.images].every(img => img.complete)")
            page.screenshot(path=str(out_dir / "compare-page.png"), full_page=True)
            browser.close()
    for name in SHOTS:
        print(out_dir / name)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots")
