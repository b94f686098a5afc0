"""Runs to serve in the HTTP tests, recorded with the real recorder."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from PIL import Image

from pipeline_recorder import LivePipelineRecorder, new_run_id

SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def png_bytes(size: int = 64) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def completed_run(base: Path, *, config_name: str = "stillepost", user_id: str = "anonymous") -> str:
    """A finished run with text, JSON, two translations, a PNG and an SVG."""
    rec = LivePipelineRecorder(new_run_id(), config_name, "eco", "kids", user_id, base_path=base)
    rec.set_state(0, "pipeline_starting")
    rec.save_entity("input", "Ein kleiner Hund")
    rec.set_state(1, "translation_and_safety")
    rec.save_entity("translation", "A small dog")
    rec.save_entity("translation", "A little dog")
    rec.save_entity("safety", {"safe": True, "codes": []})
    rec.set_state(4, "media_generation")
    rec.save_entity("output_image", png_bytes())
    rec.save_entity("drawing", SVG, {"format": "svg"})
    rec.mark_complete()
    return rec.run_id


def running_run(base: Path) -> LivePipelineRecorder:
    """A run this test process keeps writing (status running, owner alive)."""
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=base,
                               expected_outputs=["input", "translation"])
    rec.set_state(0, "pipeline_starting")
    return rec


def orphaned_run(base: Path) -> str:
    """A run whose recording process died without ending it (reads as interrupted)."""
    run_id = new_run_id()
    code = ("import sys; from pipeline_recorder import LivePipelineRecorder as R; "
            "r = R(sys.argv[1], 'stillepost', 'eco', 'kids', base_path=sys.argv[2]); r.save_entity('input', 'x')")
    subprocess.run([sys.executable, "-c", code, run_id, str(base)], check=True)
    return run_id


def metadata(base: Path, run_id: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((base / "pipeline_runs" / run_id / "metadata.json").read_bytes())
    return doc


def folder_state(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its size and mtime: to prove a request changed nothing."""
    state = {}
    for root, _, files in os.walk(folder):
        for name in files:
            st = os.stat(os.path.join(root, name))
            state[os.path.join(root, name)] = (st.st_size, st.st_mtime_ns)
    return state
