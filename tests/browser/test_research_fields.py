"""The research fields in the viewer: the runs list filtered by kind, session, device and tag (kept in the
address), and each run's kind, session, device and tags shown in its row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

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
