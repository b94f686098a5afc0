"""Comparing runs side by side in a real browser: picking them in the runs list, the compare page's settings,
stages and aligned entities (text diffs, images, players), its address, and the word diff itself."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from browser_harness import png_bytes, wav_bytes

from pipeline_recorder import LivePipelineRecorder, new_run_id

pytestmark = pytest.mark.browser


def recorded(server: Any, config: str, safety: str, translation: str, *, image: tuple[int, int] | None,
             audio: bool, reason: str | None = None) -> LivePipelineRecorder:
    rec = LivePipelineRecorder(new_run_id(), config, "eco", safety, "class-4b", base_path=server.base_path,
                               expected_outputs=["input", "translation", "output_image"])
    rec.save_entity("input", "Ein Hund läuft über die Wiese")
    rec.set_state(1, "translation_and_safety")
    rec.save_entity("translation", translation)
    rec.set_state(4, "media_generation")
    if image:
        rec.save_entity("output_image", png_bytes(*image))
    if audio:
        rec.save_entity("output_audio", wav_bytes(0.5))
    if reason:
        rec.mark_failed(reason)
    else:
        rec.finish("completed")
    return rec


@pytest.fixture(scope="module")
def three_runs(server: Any) -> list[LivePipelineRecorder]:
    """One prompt at two safety levels of one pipeline, and once more in another pipeline that failed."""
    return [
        recorded(server, "stillepost", "kids", "A dog runs over the meadow", image=(64, 48), audio=True),
        recorded(server, "stillepost", "adult", "A dog walks over the green meadow", image=(80, 40), audio=True),
        recorded(server, "haiku", "kids", "A dog runs over the meadow", image=None, audio=False,
                 reason="comfyui down"),
    ]


def compare_url(runs: list[LivePipelineRecorder]) -> str:
    return "/compare?runs=" + ",".join(r.run_id for r in runs)


def fact_row(page: Any, label: str) -> Any:
    return page.locator("#settings-table tbody tr", has=page.locator("th", has_text=label))


def test_runs_picked_in_the_list_open_side_by_side_with_differences_marked(
        viewer: Any, server: Any, three_runs: list[LivePipelineRecorder], artifacts: Path) -> None:
    first, second, third = three_runs
    page = viewer.page
    page.goto("/")
    for rec in three_runs:
        page.wait_for_selector(f"#runs-body tr[data-run-id='{rec.run_id}']")
    button = page.locator("#compare-open")
    assert button.is_disabled()
    assert page.text_content("#compare-hint") == "Tick 2 to 6 runs to compare them side by side."

    # Ticked with the mouse, and one with the keyboard (Space on the focused checkbox), in this order.
    page.check(f"#runs-body tr[data-run-id='{first.run_id}'] input.pick")
    assert button.is_disabled()
    assert page.text_content("#compare-hint") == "1 picked: compare 2 to 6 runs."
    page.check(f"#runs-body tr[data-run-id='{second.run_id}'] input.pick")
    page.focus(f"#runs-body tr[data-run-id='{third.run_id}'] input.pick")
    page.keyboard.press("Space")
    assert page.get_attribute(f"#runs-body tr[data-run-id='{third.run_id}'] input.pick", "aria-label") \
        == f"Compare haiku {third.run_id[:8]}"
    assert button.text_content() == "Compare selected (3)"
    assert button.is_enabled()
    button.click()

    page.wait_for_url(re.compile(r"/compare\?runs="))
    assert parse_qs(urlsplit(page.url).query)["runs"] == [",".join(r.run_id for r in three_runs)]
    page.wait_for_selector("body[data-state=ready]")
    assert page.text_content("h1") == "Comparing 3 runs"
    # The address names the comparison, and the page offers it to copy.
    assert page.input_value("#compare-link") == page.url

    # Settings: what differs is marked in words and the differing cells are highlighted.
    safety = fact_row(page, "Safety")
    assert safety.get_attribute("data-differs") == "true"
    assert "differs" in (safety.locator("th").text_content() or "")
    assert safety.locator("td").all_text_contents() == ["kids", "adult", "kids"]
    assert [c.get_attribute("class") for c in safety.locator("td").all()] == [None, "diff-cell", None]
    assert fact_row(page, "Pipeline").locator("td.diff-cell").all_text_contents() == ["haiku"]
    assert fact_row(page, "Mode").get_attribute("data-differs") == "false"
    assert fact_row(page, "User").locator("td").all_text_contents() == ["class-4b"] * 3
    assert fact_row(page, "Status").locator("td").all_text_contents() == [
        "completed", "completed", "failed (comfyui down)"]

    # Stages with durations: the two runs that made media recorded something in stage 4, the third did not.
    stages = page.eval_on_selector_all("#stages-table tbody tr", "rows => rows.map(r => Number(r.dataset.stage))")
    assert stages == [0, 1, 4]
    stage4 = page.locator("#stages-table tbody tr[data-stage='4'] td").all_text_contents()
    assert all(re.fullmatch(r"\d+ ms|[\d.]+ s", value) for value in stage4[:2]), stage4
    assert stage4[2] == "nothing recorded"

    # Entities aligned by stage and type; the translation as a word diff against run 1.
    rows = page.eval_on_selector_all("#aligned > section", "rows => rows.map(r => [r.dataset.type, r.dataset.verdict])")
    assert rows == [["input", "same"], ["translation", "differs"], ["output_image", "missing"],
                    ["output_audio", "missing"]]
    translation = "#aligned > section[data-type=translation]"
    page.wait_for_selector(f"{translation} .compare-cell[data-column='2'][data-loaded=true]")
    assert page.text_content(f"{translation} .compare-cell[data-column='0'] pre") == "A dog runs over the meadow"
    second_cell = f"{translation} .compare-cell[data-column='1']"
    # Removed and added words both stand in the text, in order, each in its mark.
    assert page.text_content(f"{second_cell} pre") == "A dog runswalks over the green meadow"
    assert page.locator(f"{second_cell} del").all_text_contents() == ["runs"]
    assert [added.strip() for added in page.locator(f"{second_cell} ins").all_text_contents()] == ["walks", "green"]
    assert page.text_content(f"{translation} .compare-cell[data-column='2'] .cell-note") == "Same as run 1."
    assert page.locator(f"{translation} .compare-cell[data-column='2'] ins, "
                        f"{translation} .compare-cell[data-column='2'] del").count() == 0

    # Images next to each other, players for audio; the run without them says so.
    page.wait_for_function("""() => {
        const imgs = [...document.querySelectorAll('#aligned > section[data-type=output_image] img')];
        return imgs.length === 2 && imgs.every(img => img.complete && img.naturalWidth > 0); }""")
    sizes = page.eval_on_selector_all("#aligned > section[data-type=output_image] img",
                                      "imgs => imgs.map(img => [img.naturalWidth, img.naturalHeight])")
    assert sizes == [[64, 48], [80, 40]]
    tops = page.eval_on_selector_all("#aligned > section[data-type=output_image] img",
                                     "imgs => imgs.map(img => Math.round(img.getBoundingClientRect().top))")
    assert tops[0] == tops[1]  # side by side, not one under the other
    image_row = "#aligned > section[data-type=output_image]"
    assert page.text_content(f"{image_row} .compare-cell[data-column='2'] .hint") == "Not in this run."
    audio = "#aligned > section[data-type=output_audio] audio"
    assert page.locator(audio).count() == 2
    page.wait_for_function(f"[...document.querySelectorAll('{audio}')].every(a => a.readyState >= 1)")
    assert page.eval_on_selector_all(audio, "players => players.map(a => Math.round(a.duration * 10))") == [5, 5]
    page.wait_for_selector("#aligned .compare-cell:not([data-loaded])", state="detached")
    page.screenshot(path=str(artifacts / "compare-page.png"), full_page=True)
    assert viewer.errors == []


def test_a_sent_compare_address_opens_the_same_comparison_in_german_on_a_phone(
        german_viewer: Any, three_runs: list[LivePipelineRecorder], artifacts: Path) -> None:
    page = german_viewer.page
    page.goto(compare_url(three_runs))
    page.wait_for_selector("body[data-state=ready]")
    assert page.get_attribute("html", "lang") == "de"
    assert page.text_content("h1") == "3 Läufe im Vergleich"
    assert fact_row(page, "Sicherheit").get_attribute("data-differs") == "true"
    page.wait_for_selector("#aligned .compare-cell:not([data-loaded])", state="detached")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    # A table wider than the phone scrolls inside its own region, which the keyboard can reach.
    assert page.get_attribute("#settings-section .table-wrap", "tabindex") == "0"
    assert page.get_attribute("#settings-section .table-wrap", "role") == "region"
    page.screenshot(path=str(artifacts / "compare-phone-de.png"), full_page=True)
    assert german_viewer.errors == []


def test_a_compare_address_with_too_few_runs_or_an_unknown_run_says_what_is_wrong(
        viewer: Any, server: Any, three_runs: list[LivePipelineRecorder]) -> None:
    answer = httpx.get(f"{server.url}/compare?runs=x")  # the page is always there; it says what is wrong
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in answer.headers["content-security-policy"]
    page = viewer.page
    page.goto(compare_url(three_runs[:1]))
    page.wait_for_selector("body[data-state=invalid]")
    assert page.text_content("#compare-error") == ("Pick 2 to 6 runs to compare: the address needs ?runs= with "
                                                   "their ids, separated by commas.")
    assert not page.is_visible("#settings-section")

    missing = new_run_id()
    page.goto(compare_url(three_runs[:2]) + f",{missing}")
    page.wait_for_selector("body[data-state=ready]")
    assert page.text_content("#compare-error") == f"There is no run {missing}."
    assert page.text_content("h1") == "Comparing 2 runs"
    assert viewer.errors == []


def test_the_word_diff_gives_back_both_texts_and_marks_only_what_changed(viewer: Any) -> None:
    page = viewer.page
    page.goto("/compare")
    cases = page.evaluate("""async () => {
        const { diffWords } = await import('/static/diff.js');
        const words = ['dog', 'cat', 'runs', 'the', 'meadow', 'über', '\\n', '  ', 'a'];
        let seed = 7;
        const next = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
        const text = () => Array.from({length: next(12)}, () => words[next(words.length)]).join(next(2) ? ' ' : '');
        const out = [];
        for (let i = 0; i < 300; i += 1) {
            const a = text(), b = text(), parts = diffWords(a, b);
            out.push([a, b, parts.filter(p => p.op !== 'ins').map(p => p.text).join(''),
                      parts.filter(p => p.op !== 'del').map(p => p.text).join(''),
                      a === b ? parts.every(p => p.op === 'same') : parts.some(p => p.op !== 'same')]);
        }
        out.push(['A dog runs', 'A dog walks', JSON.stringify(diffWords('A dog runs', 'A dog walks')), '', true]);
        return out;
    }""")
    *random, (_, _, fixed, _, _) = cases
    for before, after, joined_before, joined_after, marked in random:
        assert joined_before == before and joined_after == after
        assert marked
    assert fixed == ('[{"op":"same","text":"A dog "},{"op":"del","text":"runs"},{"op":"ins","text":"walks"}]')
