"""What save_entity accepts, how it names and types the file, and that bad content writes nothing."""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import tracemalloc
import wave
from pathlib import Path

import pytest
from core_helpers import check_run, entity_files, sha256_of, snapshot, temp_files
from PIL import Image

from pipeline_recorder import InvalidContentError, InvalidFormatError, InvalidMetadataError, LivePipelineRecorder
from pipeline_recorder.formats import MIME_TYPES, mime_for_filename


def image_bytes(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, format=fmt)
    return out.getvalue()


def wav_bytes() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * 800)
    return out.getvalue()


MP4 = struct.pack(">I", 24) + b"ftypisom" + b"\x00\x00\x02\x00isomiso2" + b"\x00" * 64
WEBM = bytes.fromhex("1a45dfa3") + b"\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm" + b"\x00" * 64
DETECTED = [
    ("PNG", "png", "image/png"),
    ("JPEG", "jpg", "image/jpeg"),
    ("GIF", "gif", "image/gif"),
    ("WEBP", "webp", "image/webp"),
    ("BMP", "bmp", "image/bmp"),
]


def listed(rec: LivePipelineRecorder) -> list[dict]:
    return rec.get_status()["entities"]


@pytest.mark.parametrize("pil_format, ext, mime", DETECTED)
def test_images_are_named_and_typed_from_their_content(rec: LivePipelineRecorder, pil_format: str, ext: str,
                                                       mime: str) -> None:
    data = image_bytes(pil_format)
    name = rec.save_entity("output_image", data)
    assert name == f"01_output_image.{ext}"
    assert (rec.run_folder / name).read_bytes() == data
    assert listed(rec)[0]["mime_type"] == mime == mime_for_filename(name)


@pytest.mark.parametrize("data, ext", [
    (wav_bytes(), "wav"),
    (b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\x00" * 64, "mp3"),
    (b"OggS\x00\x02" + b"\x00" * 64, "ogg"),
    (b"fLaC\x00\x00\x00\x22" + b"\x00" * 64, "flac"),
    (MP4, "mp4"),
    (WEBM, "webm"),
    (b"%PDF-1.7\n" + b"\x00" * 64, "pdf"),
])
def test_audio_video_and_documents_are_detected_from_magic_bytes(rec: LivePipelineRecorder, data: bytes,
                                                                 ext: str) -> None:
    name = rec.save_entity("output_audio", data)
    assert name.endswith(f".{ext}")
    assert listed(rec)[0]["mime_type"] == MIME_TYPES[ext]


def test_the_caller_says_the_format_only_when_the_content_does_not(rec: LivePipelineRecorder) -> None:
    assert rec.save_entity("output_image", b"<svg xmlns='http://www.w3.org/2000/svg'/>", {"format": "svg"}) == \
        "01_output_image.svg"
    assert rec.save_entity("output_image", b"plain bytes", {"format": ".JPEG"}) == "02_output_image.jpg"
    assert rec.save_entity("output_image", b"plain bytes") == "03_output_image.bin"
    # Content wins over the label: PNG bytes called "mp3" are a png.
    assert rec.save_entity("output_image", image_bytes("PNG"), {"format": "mp3"}) == "04_output_image.png"
    # Content recognised as a kind outside the MIME map is bin, whatever the label says.
    elf = b"\x7fELF\x02\x01\x01" + b"\x00" * 64
    assert rec.save_entity("output_image", elf, {"format": "png"}) == "05_output_image.bin"
    assert [e["mime_type"] for e in listed(rec)] == ["image/svg+xml", "image/jpeg", "application/octet-stream",
                                                     "image/png", "application/octet-stream"]
    assert listed(rec)[0]["metadata"] == {"format": "svg"}


@pytest.mark.parametrize("fmt", ["../png", "exe", "png/../x", "", "html", "p\0ng", 5, None, ["png"]])
def test_formats_off_the_allow_list_are_refused_and_write_nothing(rec: LivePipelineRecorder, fmt: object) -> None:
    before = snapshot(rec.run_folder.parent.parent)
    with pytest.raises(InvalidFormatError) as raised:
        rec.save_entity("output_image", b"bytes", {"format": fmt})
    assert "png" in str(raised.value)  # says what is accepted
    assert snapshot(rec.run_folder.parent.parent) == before


def test_str_is_utf8_text_and_dict_or_list_is_json(rec: LivePipelineRecorder) -> None:
    text = "Grüße, 世界 ✓"
    doc = {"a": [1, 2.5, None, True], "ü": {"nested": "ok"}}
    names = [rec.save_entity("input", text), rec.save_entity("safety", doc), rec.save_entity("safety", [1, "two"])]
    assert names == ["01_input.txt", "02_safety.json", "03_safety.json"]
    assert (rec.run_folder / names[0]).read_bytes() == text.encode("utf-8")
    assert json.loads((rec.run_folder / names[1]).read_bytes()) == doc
    assert json.loads((rec.run_folder / names[2]).read_bytes()) == [1, "two"]
    check_run(rec.run_folder)


def test_bytearray_and_memoryview_are_bytes(rec: LivePipelineRecorder) -> None:
    data = image_bytes("PNG")
    assert rec.save_entity("output_image", bytearray(data)) == "01_output_image.png"
    assert rec.save_entity("output_image", memoryview(data)) == "02_output_image.png"
    assert (rec.run_folder / "02_output_image.png").read_bytes() == data


def test_a_path_and_a_binary_file_object_are_copied_with_size_and_hash(rec: LivePipelineRecorder,
                                                                       tmp_path: Path) -> None:
    data = image_bytes("JPEG") + os.urandom(3 * 1024 * 1024)
    source = tmp_path / "big.jpg"
    source.write_bytes(data)
    assert rec.save_entity("output_image", source) == "01_output_image.jpg"
    with open(source, "rb") as f:
        assert rec.save_entity("output_image", f) == "02_output_image.jpg"
    assert rec.save_entity("output_image", io.BytesIO(data)) == "03_output_image.jpg"
    expected = hashlib.sha256(data).hexdigest()
    for entity in listed(rec):
        assert entity["size"] == len(data) and entity["sha256"] == expected
        assert sha256_of(rec.run_folder / entity["filename"]) == expected
    assert source.read_bytes() == data  # the source is copied, never moved


def test_a_large_file_is_streamed_in_bounded_memory(rec: LivePipelineRecorder, tmp_path: Path) -> None:
    size = 64 * 1024 * 1024
    source = tmp_path / "video.mp4"
    with open(source, "wb") as f:
        f.write(MP4)
        f.truncate(size)  # sparse: cheap to make, 64 MB to read
    tracemalloc.start()
    try:
        with open(source, "rb") as f:
            name = rec.save_entity("output_video", f)
        name2 = rec.save_entity("output_video", source)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (name, name2) == ("01_output_video.mp4", "02_output_video.mp4")
    assert peak < size / 16, f"peak Python memory {peak} bytes while saving a {size} byte file"
    assert (rec.run_folder / name).stat().st_size == size
    check_run(rec.run_folder)


@pytest.mark.parametrize("content", [
    12, 1.5, None, True, ("tuple",), {"set"}, object(), b"x".decode,
    {"not json": object()}, [float("nan")], "\ud800 lone surrogate",
])
def test_content_of_other_types_is_a_type_error_and_writes_nothing(rec: LivePipelineRecorder,
                                                                   content: object) -> None:
    root = rec.run_folder.parent.parent
    before = snapshot(root)
    with pytest.raises(InvalidContentError) as raised:
        rec.save_entity("input", content)  # type: ignore[arg-type]
    assert isinstance(raised.value, TypeError)
    assert "str" in str(raised.value) or "JSON" in str(raised.value) or "UTF-8" in str(raised.value)
    assert snapshot(root) == before
    assert temp_files(rec.run_folder) == []


def test_a_text_mode_file_or_a_missing_path_writes_nothing(rec: LivePipelineRecorder, tmp_path: Path) -> None:
    source = tmp_path / "note.txt"
    source.write_text("hello")
    root = rec.run_folder.parent.parent
    before = snapshot(root)
    with open(source, encoding="utf-8") as f, pytest.raises(InvalidContentError, match="binary mode"):
        rec.save_entity("input", f)  # type: ignore[arg-type]
    with pytest.raises(InvalidContentError, match="cannot read"):
        rec.save_entity("input", tmp_path / "missing.bin")
    with pytest.raises(InvalidContentError, match="cannot read"):
        rec.save_entity("input", tmp_path)
    assert snapshot(root) == before


@pytest.mark.parametrize("metadata", [["list"], {1: "int key"}, {"x": object()}, {"x": float("inf")}, "text"])
def test_entity_metadata_must_be_a_json_dict_and_bad_metadata_writes_nothing(rec: LivePipelineRecorder,
                                                                             metadata: object) -> None:
    root = rec.run_folder.parent.parent
    before = snapshot(root)
    with pytest.raises(InvalidMetadataError):
        rec.save_entity("input", "x", metadata)  # type: ignore[arg-type]
    assert snapshot(root) == before


def test_saving_after_bad_input_continues_the_numbering(rec: LivePipelineRecorder) -> None:
    rec.save_entity("input", "a")
    with pytest.raises(InvalidContentError):
        rec.save_entity("input", 5)  # type: ignore[arg-type]
    assert rec.save_entity("translation", "b") == "02_translation.txt"
    assert entity_files(rec.run_folder) == ["01_input.txt", "02_translation.txt"]
