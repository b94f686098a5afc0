"""The largest entity the shared store takes: S3 copies a staged object into place in one request only up to
5 GiB, so a larger stream is refused while it is read, clearly, with nothing left in the bucket or the run."""

from __future__ import annotations

import io

import pytest
from shared_helpers import object_names

from pipeline_recorder import LivePipelineRecorder
from pipeline_recorder.errors import InvalidContentError
from pipeline_recorder.naming import new_run_id
from pipeline_recorder.stores.shared import SharedStore, staging


def test_an_entity_over_the_copy_limit_is_refused_and_leaves_nothing(shared: SharedStore,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    assert staging.MAX_ENTITY_BYTES == 5 * 1024**3
    monkeypatch.setattr(staging, "MAX_ENTITY_BYTES", 9 * 1024 * 1024)  # a stand-in: 5 GiB would take minutes
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=shared)
    with pytest.raises(InvalidContentError, match="the most the shared store takes"):
        rec.save_entity("output_video", io.BytesIO(b"\x00" * (10 * 1024 * 1024)), {"format": "bin"})
    assert shared.read_metadata(rec.run_id)["entities"] == []
    assert object_names(shared, rec.run_id) == ["metadata.json"]
    # Up to the limit it is stored (streamed in parts, copied into place).
    rec.save_entity("output_video", io.BytesIO(b"\x01" * (9 * 1024 * 1024)), {"format": "bin"})
    assert [e["size"] for e in shared.read_metadata(rec.run_id)["entities"]] == [9 * 1024 * 1024]
