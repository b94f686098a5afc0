"""The runs list searched by typing, and read by its media: a thumbnail of the image, a poster of the video, an
icon and the length of the audio -- in a real browser, in English on a desktop and in German on a phone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from media_samples import bomb_png, image_bytes, mp4_bytes, wav_bytes
from pipeline_recorder import LivePipelineRecorder, new_run_id

pytestmark = pytest.mark.browser


def recorded(server: Any, text: str, *media: tuple[str, bytes]) -> str:
    rec = LivePipelineRecorder(new_run_id(), "search-media", "eco", "kids", base_path=server.base_path,
                               expected_outputs=["input"])
    rec.save_entity("input", text)
    for entity_type, content in media:
        rec.save_entity(entity_type, content)
    rec.finish("completed")
    return rec.run_id


def shown(page: Any) -> set[str]:
    return set(page.eval_on_selector_all("#runs-body tr", "rows => rows.map(r => r.dataset.runId)"))


def test_typing_in_the_search_box_lists_only_the_runs_with_those_words(viewer: Any, server: Any,
                                                                        artifacts: Path) -> None:
    dog = recorded(server, "Ein kleiner Hund spielt im Garten")
    cat = recorded(server, "Eine Katze schläft in der Sonne")
    page = viewer.page
    page.goto("/")
    page.wait_for_selector(f"#runs-body tr[data-run-id='{cat}']")
    assert page.get_by_label("Search texts").is_visible()
    page.get_by_label("Search texts").click()
    page.keyboard.type("kleiner hu")  # as a person types: word starts, in any case
    page.wait_for_function(f"() => !document.querySelector(\"#runs-body tr[data-run-id='{cat}']\")")
    assert shown(page) == {dog}
    assert "q=kleiner+hu" in page.url  # the search is in the address: it can be bookmarked and sent
    page.screenshot(path=str(artifacts / "runs-search.png"), full_page=True)
    page.reload()
    page.wait_for_selector(f"#runs-body tr[data-run-id='{dog}']")
    assert page.input_value("#filter-q") == "kleiner hu" and shown(page) == {dog}
    page.fill("#filter-q", "schlaft")  # accents do not matter
    page.wait_for_selector(f"#runs-body tr[data-run-id='{cat}']")
    page.wait_for_function(f"() => !document.querySelector(\"#runs-body tr[data-run-id='{dog}']\")")
    page.fill("#filter-q", "nichtda")
    page.wait_for_function("() => document.querySelectorAll('#runs-body tr').length === 0")
    assert page.text_content("#runs-summary") == "No runs match."
    assert viewer.errors == []


def test_each_row_shows_its_image_thumbnail_video_poster_or_audio_length(viewer: Any, server: Any,
                                                                         artifacts: Path) -> None:
    image = recorded(server, "Ein blaues Bild", ("output_image", image_bytes(900, 600, (30, 60, 220))))
    video = recorded(server, "Ein grünes Video", ("output_video", mp4_bytes()))
    audio = recorded(server, "Ein Ton", ("output_audio", wav_bytes(1.5)))
    bomb = recorded(server, "Eine Bombe", ("output_image", bomb_png(7000, 7000)))
    text = recorded(server, "Nur Text")
    page = viewer.page
    thumbnails: list[str] = []
    page.on("response", lambda r: thumbnails.append(f"{r.status} {r.headers.get('content-type')}")
            if "/thumbnail/" in r.url else None)
    page.goto("/")

    def row(run_id: str) -> str:
        return f"#runs-body tr[data-run-id='{run_id}']"

    for run_id in (image, video):
        page.wait_for_function(f"() => document.querySelector(\"{row(run_id)} img.thumb\")?.complete && "
                               f"document.querySelector(\"{row(run_id)} img.thumb\").naturalWidth > 0")
    picture = page.locator(f"{row(image)} img.thumb")
    assert picture.get_attribute("alt") == "Image output"
    assert page.eval_on_selector(f"{row(image)} img.thumb", "img => [img.naturalWidth, img.naturalHeight]") == \
        [320, 213]  # the server's WebP, bounded to 320 pixels
    assert page.locator(f"{row(video)} img.thumb").get_attribute("alt") == "Video output (first frame)"
    assert page.locator(f"{row(video)} .media-play").count() == 1
    page.wait_for_selector(f"{row(audio)} .media-duration:text('1.5 s')")
    assert page.get_attribute(f"{row(audio)} .media-icon", "aria-label") == "Audio output"
    # The server refuses the bomb (422): the row shows the image icon instead of a broken picture.
    page.wait_for_selector(f"{row(bomb)} .media-icon[aria-label='Image output']")
    assert page.locator(f"{row(bomb)} img").count() == 0
    page.wait_for_selector(f"{row(text)} .run-input")
    assert page.locator(f"{row(text)} .media").count() == 0
    assert "200 image/webp" in thumbnails and any(t.startswith("422") for t in thumbnails)
    page.screenshot(path=str(artifacts / "runs-media.png"), full_page=True)
    assert viewer.errors == []


def test_search_and_media_in_german_on_a_phone(german_viewer: Any, server: Any, artifacts: Path) -> None:
    fox = recorded(server, "Ein Fuchs im Schnee", ("output_image", image_bytes(300, 300, (240, 120, 0))))
    page = german_viewer.page
    page.goto("/")
    page.wait_for_selector(f"#runs-body tr[data-run-id='{fox}']")
    page.get_by_label("Texte durchsuchen").fill("fuchs")
    page.wait_for_function("() => document.querySelectorAll('#runs-body tr').length === 1")
    page.wait_for_function(f"() => document.querySelector(\"#runs-body tr[data-run-id='{fox}'] img.thumb\")"
                           "?.naturalWidth > 0")
    assert shown(page) == {fox}
    assert page.get_attribute(f"#runs-body tr[data-run-id='{fox}'] img.thumb", "alt") == "Bild-Ergebnis"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(artifacts / "runs-search-phone-de.png"), full_page=True)
    assert german_viewer.errors == []
