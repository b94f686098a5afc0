"""Entity bytes go to the bucket streamed (multipart when large) and come back by Range, never whole."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest
from shared_helpers import object_names

from pipeline_recorder import LivePipelineRecorder
from pipeline_recorder.errors import EntityNotFoundError, InvalidContentError
from pipeline_recorder.naming import new_run_id
from pipeline_recorder.stores.shared import SharedStore
from pipeline_recorder.stores.shared.objects import PART_SIZE

MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"


class CountingReader(io.RawIOBase):
    """A binary file of ``size`` bytes that counts how much was read at most at once (it is never read whole)."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.largest = 0
        self.digest = hashlib.sha256()
        self.first = True

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        self.largest = max(self.largest, n)
        chunk = (MP4_HEAD + os.urandom(n - len(MP4_HEAD))) if self.first and n >= len(MP4_HEAD) else os.urandom(n)
        self.first = False
        self.left -= n
        self.digest.update(chunk)
        return chunk


def test_a_large_stream_is_uploaded_in_parts_and_listed_with_its_hash(shared: SharedStore) -> None:
    rec = LivePipelineRecorder(new_run_id(), "klangbild", "eco", "kids", base_path=shared)
    source = CountingReader(2 * PART_SIZE + 12345)
    assert rec.save_entity("output_video", source) == "01_output_video.mp4"
    entity = rec.get_entities("output_video")[0]
    assert entity["size"] == 2 * PART_SIZE + 12345 and entity["sha256"] == source.digest.hexdigest()
    assert entity["mime_type"] == "video/mp4"
    assert source.largest <= PART_SIZE + 1  # read part by part, never whole
    key = shared.runs.key(rec.run_id, "01_output_video.mp4")
    assert hashlib.sha256(shared.bucket.get(key)).hexdigest() == entity["sha256"]
    # Nothing of the staging is left: the run's objects are exactly the folder store's files.
    assert object_names(shared, rec.run_id) == ["01_output_video.mp4", "metadata.json"]


def test_an_entity_is_read_by_ranges_of_the_object_seeking_without_downloading_the_rest(shared: SharedStore,
                                                                                   tmp_path: Path) -> None:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=shared)
    content = os.urandom(300_000)
    path = tmp_path / "audio.bin"
    path.write_bytes(content)
    rec.save_entity("output_audio", path)
    [record] = rec.get_entities()
    entity = shared.open_entity(rec.run_id, record)
    assert (entity.size, entity.version) == (300_000, record["sha256"])  # the same ETag on every replica
    with entity.file as f:
        assert f.read() == content
        f.seek(1000)
        assert f.read(1000) == content[1000:2000]
        f.seek(-10, 2)
        assert f.read() == content[-10:]
        assert f.read() == b""


def test_only_listed_entity_files_can_be_read(shared: SharedStore) -> None:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=shared)
    rec.save_entity("input", "one")
    shared.bucket.put(shared.runs.key(rec.run_id, "02_input.txt"), b"never listed")
    [record] = rec.get_entities()
    for name in ("metadata.json", "../other/01_input.txt", ".staging-x", "01_input.txt/", ""):
        with pytest.raises(EntityNotFoundError):
            shared.open_entity(rec.run_id, {**record, "filename": name})
    with pytest.raises(EntityNotFoundError, match="holds 12 bytes, not the 3"):  # the unlisted object
        shared.open_entity(rec.run_id, {**record, "filename": "02_input.txt"})
    shared.bucket.delete(shared.runs.key(rec.run_id, "01_input.txt"))
    with pytest.raises(EntityNotFoundError, match="missing from the bucket"):
        shared.open_entity(rec.run_id, record)


def test_content_that_cannot_be_stored_is_refused_before_anything_is_written(shared: SharedStore) -> None:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=shared)
    for content in (object(), 3.5, {"x": float("nan")}, io.StringIO("text mode")):
        with pytest.raises(InvalidContentError):
            rec.save_entity("input", content)  # type: ignore[arg-type]
    assert shared.read_metadata(rec.run_id)["entities"] == []
    assert object_names(shared, rec.run_id) == ["metadata.json"]
