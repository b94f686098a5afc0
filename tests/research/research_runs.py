"""Runs of a small class session for the research export tests, and reading back what an export holds."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from typing import Any

from pipeline_recorder import LivePipelineRecorder, new_run_id, runformat
from pipeline_recorder.document import MetadataDocument
from pipeline_recorder.liveness import current_owner
from pipeline_recorder.stores.base import Store

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
       b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND"
       b"\xaeB`\x82")
# Ids that occur nowhere else in what a run holds, so a search of exported bytes for them means something.
CHILD_A, CHILD_B = "child-anna-4711", "child-ben-0815"
DEVICE_A, DEVICE_B = "tablet-07", "tablet-12"


@dataclass
class Recorded:
    run_id: str
    user_id: str
    words: str  # the child's input text


def new_run(store: Store, user_id: str, expected: list[str], **fields: Any) -> LivePipelineRecorder:
    """A new run whose metadata.json holds the research fields ``fields`` (kind, session_id, device_id,
    models_used) as a recorder that sets them writes it, created through the Store and attached to by a recorder."""
    run_id = new_run_id()
    header = runformat.new_header(run_id=run_id, config_name="stillepost", execution_mode="eco", safety_level="kids",
                                  user_id=user_id, expected_outputs=expected, owner=current_owner())
    header.update(fields)
    assert store.create_run(run_id, MetadataDocument(header, []))
    return LivePipelineRecorder(run_id, base_path=store)


def record(store: Store, user_id: str, words: str, **fields: Any) -> Recorded:
    """A completed run: input text, a safety JSON, an image; ``fields`` are the research fields (session_id, ...)."""
    rec = new_run(store, user_id, ["input", "safety", "interception", "output_image"], **fields)
    rec.set_state(0, "pipeline_starting")
    rec.save_entity("input", words)
    rec.set_state(1, "translation_and_safety")
    rec.save_entity("safety", {"safe": True, "codes": []})
    rec.set_state(2, "interception")
    rec.save_entity("interception", f"A poem about: {words}", metadata={"model_used": "gpt-oss:20b"})
    rec.set_state(4, "media_generation")
    rec.save_entity("output_image", PNG)
    rec.mark_complete()
    return Recorded(rec.run_id, user_id, words)


def csv_rows(data: bytes) -> list[dict[str, str]]:
    """The rows of a CSV table, read with the csv module (not the exporter)."""
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


def zip_members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def stored_bytes(store: Store, run_id: str, record: dict[str, Any]) -> bytes:
    """An entity's bytes as the store holds them."""
    with store.open_entity(run_id, record).file as f:
        return f.read()
