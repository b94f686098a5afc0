"""/static/recorder.js in Chromium against the real server: a page records a run, and the test reads what the
server wrote to disk (files, hashes, metadata), not what the module says it did."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from browser_harness import Server

pytestmark = pytest.mark.browser

RECORD_A_RUN = """
async () => {
  const { BrowserRecorder } = await import("/static/recorder.js");
  const rec = new BrowserRecorder({ config_name: "canvas", execution_mode: "eco", safety_level: "kids",
    user_id: "child-anna", expected_outputs: ["input", "parameters", "output_image"] });
  const before = rec.started;
  await rec.setState(0, "pipeline_starting");      // kept until the run exists
  await rec.saveText("input", "Ein Hund im Garten, grün");
  await rec.saveJSON("parameters", { steps: 20, seed: 7, prompt: "ein Hund" }, { tool: "canvas" });
  const canvas = document.createElement("canvas");
  canvas.width = 8; canvas.height = 8;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#3a7"; ctx.fillRect(0, 0, 8, 8);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  const sha = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const image = await rec.saveBlob("output_image", blob);
  await rec.setState(4, "media_generation");
  const step = await rec.saveProcessStep("input", "Ein Hund");
  await rec.saveProcessStep("parameters", { seed: 7 });
  const models = await rec.setModel("stage4_output", "comfyui/sd35_large");
  await rec.finish("completed");
  return { runId: rec.runId, before, after: rec.started, sha, size: blob.size, image, step, models };
}
"""


def _run_folder(server: Server, run_id: str) -> Path:
    return server.base_path / "pipeline_runs" / run_id


def test_a_page_records_a_run_that_the_server_stores(viewer: Any, server: Server, artifacts: Path) -> None:
    page = viewer.page
    page.goto("/")
    result = page.evaluate(RECORD_A_RUN)
    assert result["before"] is False and result["after"] is True
    folder = _run_folder(server, result["runId"])
    doc = json.loads((folder / "metadata.json").read_text())
    assert doc["status"] == "completed"
    assert (doc["config_name"], doc["user_id"]) == ("canvas", "child-anna")
    assert [(e["type"], e["filename"]) for e in doc["entities"]] == [
        ("input", "01_input.txt"), ("parameters", "02_parameters.json"), ("output_image", "03_output_image.png")]
    assert (folder / "01_input.txt").read_text(encoding="utf-8") == "Ein Hund im Garten, grün"
    assert json.loads((folder / "02_parameters.json").read_text()) == {"steps": 20, "seed": 7, "prompt": "ein Hund"}
    assert doc["entities"][1]["metadata"] == {"tool": "canvas"}
    image = (folder / "03_output_image.png").read_bytes()
    assert (len(image), hashlib.sha256(image).hexdigest()) == (result["size"], result["sha"])
    assert result["image"]["sha256"] == result["sha"] and doc["entities"][2]["mime_type"] == "image/png"
    assert doc["current_state"]["stage"] == 4
    assert [s["filename"] for s in doc["prompting_process"]] == ["prompting_process/001_input.txt",
                                                                  "prompting_process/002_parameters.json"]
    assert (folder / "prompting_process" / "001_input.txt").read_text() == "Ein Hund"
    assert json.loads((folder / "prompting_process" / "002_parameters.json").read_text()) == {"seed": 7}
    assert result["step"]["filename"] == "prompting_process/001_input.txt"
    assert doc["models_used"] == result["models"] == {"stage4_output": "comfyui/sd35_large"}
    assert viewer.errors == []
    page.goto(f"/runs/{result['runId']}")
    page.locator("#run-status").filter(has_text="completed").wait_for()
    page.screenshot(path=str(artifacts / "recorder-js-run.png"), full_page=True)


def test_a_page_that_saves_nothing_leaves_no_run(viewer: Any, server: Server) -> None:
    page = viewer.page
    page.goto("/")
    result = page.evaluate("""async () => {
      const { BrowserRecorder } = await import("/static/recorder.js");
      const rec = new BrowserRecorder({ config_name: "canvas", execution_mode: "eco", safety_level: "kids" });
      await rec.setState(1, "thinking");
      return { runId: rec.runId, finished: await rec.finish("completed") };
    }""")
    assert result["finished"] is None
    assert not _run_folder(server, result["runId"]).exists()


def test_refusals_reject_with_the_servers_reason_and_later_writes_still_go(viewer: Any, server: Server) -> None:
    page = viewer.page
    page.goto("/")
    result = page.evaluate("""async () => {
      const { BrowserRecorder, RecorderError } = await import("/static/recorder.js");
      const out = {};
      try { new BrowserRecorder({ config_name: "canvas" }); } catch (e) { out.missing = e.message; }
      const rec = new BrowserRecorder({ config_name: "canvas", execution_mode: "eco", safety_level: "kids" });
      try { await rec.saveText("Bad Type!", "x"); } catch (e) {
        out.bad = { isRecorderError: e instanceof RecorderError, status: e.status, message: e.message };
      }
      try { await rec.saveBlob("output_image", "not a blob"); } catch (e) { out.notBlob = e.message; }
      const circular = {};
      circular.self = circular;
      out.notJSON = [];
      for (const save of [() => rec.saveJSON("parameters", undefined), () => rec.saveJSON("parameters", circular),
                          () => rec.saveProcessStep("parameters", () => 1),
                          () => rec.saveProcessStep("parameters", circular)]) {
        try { await save(); out.notJSON.push("saved"); } catch (e) { out.notJSON.push(e.message); }
      }
      await rec.saveText("input", "still recorded");
      await rec.finish("completed");
      try { await rec.saveText("input", "too late"); } catch (e) { out.late = { status: e.status, cls: e.errorClass }; }
      out.runId = rec.runId;
      return out;
    }""")
    assert "needs execution_mode, safety_level" in result["missing"]
    assert result["bad"]["isRecorderError"] and result["bad"]["status"] == 400
    assert "entity type" in result["bad"]["message"]
    assert "Blob or File" in result["notBlob"]
    # Values JSON cannot carry are refused before anything is sent, naming the method that was called.
    not_json = result["notJSON"]
    assert not_json[0] == "saveJSON: the value is not JSON" and not_json[2] == "saveProcessStep: the value is not JSON"
    assert not_json[1].startswith("saveJSON: the value is not JSON-serialisable (")
    assert not_json[3].startswith("saveProcessStep: the value is not JSON-serialisable (")
    assert result["late"] == {"status": 409, "cls": "RunFinishedError"}
    doc = json.loads((_run_folder(server, result["runId"]) / "metadata.json").read_text())
    assert [e["type"] for e in doc["entities"]] == ["input"] and doc["status"] == "completed"


def test_a_write_whose_answer_was_lost_is_retried_with_its_key_and_stored_once(viewer: Any, server: Server) -> None:
    page = viewer.page
    page.goto("/")
    lost: list[str] = []

    def lose_the_first_answer(route: Any) -> None:
        if route.request.method == "POST" and not lost:
            route.fetch()  # the server stores the entity ...
            lost.append(route.request.headers["idempotency-key"])
            route.abort("connectionreset")  # ... but the page never hears of it
        else:
            route.continue_()

    page.route("**/entity/input", lose_the_first_answer)
    result = page.evaluate("""async () => {
      const { BrowserRecorder } = await import("/static/recorder.js");
      const rec = new BrowserRecorder({ config_name: "canvas", execution_mode: "eco", safety_level: "kids" });
      const entity = await rec.saveText("input", "once only");
      await rec.finish("completed");
      return { runId: rec.runId, entity };
    }""")
    assert len(lost) == 1
    doc = json.loads((_run_folder(server, result["runId"]) / "metadata.json").read_text())
    assert [e["filename"] for e in doc["entities"]] == ["01_input.txt"] == [result["entity"]["filename"]]
