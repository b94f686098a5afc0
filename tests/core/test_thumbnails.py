"""Thumbnails and posters made from entities and cached as helper files, on every store (``any_store``)."""

from __future__ import annotations

import threading
from typing import Any, BinaryIO

import pytest

from media_samples import bomb_png, decoded, gif_bytes, image_bytes, mp4_bytes, wav_bytes
from pipeline_recorder import LivePipelineRecorder, new_run_id, thumbnails
from pipeline_recorder.errors import NoThumbnailError, RunNotFoundError, ThumbnailRefusedError, ValidationError
from pipeline_recorder.stores import Store
from pipeline_recorder.thumbnails import THUMBNAIL_BOX, Thumbnails, make_thumbnail, thumbnail_name
from support import wait_until


def recorded(store: Store, *entities: tuple[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=store)
    for entity_type, content in entities:
        rec.save_entity(entity_type, content)
    rec.mark_complete()
    return rec.run_id, list(store.read_metadata(rec.run_id)["entities"])


def test_helper_files_read_back_replace_and_are_never_entities(any_store: Store) -> None:
    run_id, _ = recorded(any_store, ("input", "hello"))
    name = ".thumbnails/" + "a" * 64 + "-320.webp"
    assert any_store.read_helper(run_id, name) is None
    any_store.write_helper(run_id, name, b"first")
    any_store.write_helper(run_id, name, b"second")
    assert any_store.read_helper(run_id, name) == b"second"
    assert [f.name for f in any_store.stored_files(run_id)] == ["01_input.txt"]
    assert [e["filename"] for e in any_store.read_metadata(run_id)["entities"]] == ["01_input.txt"]


def test_helper_files_go_with_their_run(any_store: Store) -> None:
    run_id, _ = recorded(any_store, ("input", "hello"))
    name = ".thumbnails/x.webp"
    any_store.write_helper(run_id, name, b"bytes")
    any_store.delete_run(run_id)
    assert any_store.read_helper(run_id, name) is None
    with pytest.raises(RunNotFoundError):
        any_store.write_helper(run_id, name, b"bytes")


@pytest.mark.parametrize("name", ["thumbnails/x.webp", ".thumbnails/../metadata.json", ".thumbnails/.x",
                                  "../.thumbnails/x", ".thumbnails/a/b", "01_input.txt", ".Thumbs/x"])
def test_a_helper_name_outside_a_hidden_folder_is_refused(any_store: Store, name: str) -> None:
    run_id, _ = recorded(any_store, ("input", "hello"))
    with pytest.raises(ValidationError, match="helper file name"):
        any_store.write_helper(run_id, name, b"x")
    with pytest.raises(ValidationError, match="helper file name"):
        any_store.read_helper(run_id, name)


def test_an_image_gets_a_bounded_webp_made_once_and_cached_by_its_hash(any_store: Store) -> None:
    run_id, (record,) = recorded(any_store, ("output_image", image_bytes(1200, 600, (10, 200, 40))))
    made: list[str] = []

    def counting(file: BinaryIO, rec: dict[str, Any]) -> bytes:
        made.append(rec["filename"])
        return make_thumbnail(file, rec)

    thumbs = Thumbnails(any_store, counting)
    first = thumbs.get(run_id, record)
    assert thumbs.get(run_id, record) == first and made == ["01_output_image.png"]  # the second read the cache
    assert any_store.read_helper(run_id, f".thumbnails/{record['sha256']}-{THUMBNAIL_BOX}.webp") == first
    image = decoded(first)
    assert image.size == (THUMBNAIL_BOX, THUMBNAIL_BOX // 2)  # the aspect is kept
    red, green, blue = image.convert("RGB").getpixel((10, 10))
    assert green > 150 and red < 60 and blue < 90


def test_a_changed_entity_gets_a_new_thumbnail_not_the_cached_one(any_store: Store) -> None:
    run_id, (record,) = recorded(any_store, ("output_image", image_bytes(64, 64, (250, 0, 0))))
    # A thumbnail cached under the hash of bytes the entity no longer has (a repair replaced them) is not served.
    stale = {**record, "sha256": "0" * 64}
    any_store.write_helper(run_id, thumbnail_name(stale), b"stale")
    webp = Thumbnails(any_store).get(run_id, record)
    assert webp != b"stale" and decoded(webp).convert("RGB").getpixel((5, 5))[0] > 200
    assert thumbnail_name(stale) != thumbnail_name(record)


def test_small_images_are_never_enlarged_and_a_gif_shows_its_first_frame(any_store: Store) -> None:
    run_id, records = recorded(any_store, ("output_image", gif_bytes(90, 60)),
                               ("output_image", image_bytes(40, 30, fmt="JPEG")))
    gif = decoded(Thumbnails(any_store).get(run_id, records[0]))
    assert gif.size == (90, 60)
    red, _, blue = gif.convert("RGB").getpixel((45, 30))
    assert red > 200 and blue < 50
    assert decoded(Thumbnails(any_store).get(run_id, records[1])).size == (40, 30)


def test_a_video_gets_a_poster_of_its_first_frame(any_store: Store) -> None:
    run_id, (record,) = recorded(any_store, ("output_video", mp4_bytes(160, 120)))
    assert record["mime_type"] == "video/mp4"
    poster = decoded(Thumbnails(any_store).get(run_id, record))
    assert poster.size == (160, 120)
    red, green, blue = poster.convert("RGB").getpixel((80, 60))
    assert green > 150 and red < 80 and blue < 80


@pytest.mark.parametrize(("width", "height"), [(7000, 7000), (20000, 20000)])
def test_a_decompression_bomb_is_refused_and_nothing_is_cached(any_store: Store, width: int, height: int) -> None:
    # 7000 x 7000 is below Pillow's own limit (only our pixel cap refuses it); 20000 x 20000 is above both.
    run_id, (record,) = recorded(any_store, ("output_image", bomb_png(width, height)))
    assert record["size"] < 1_000_000
    with pytest.raises(ThumbnailRefusedError, match=r"pixels|bomb"):
        Thumbnails(any_store).get(run_id, record)
    assert any_store.read_helper(run_id, thumbnail_name(record)) is None


def test_an_image_over_the_byte_cap_is_refused_before_decoding(any_store: Store,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    run_id, (record,) = recorded(any_store, ("output_image", image_bytes(100, 100)))
    monkeypatch.setattr(thumbnails, "MAX_SOURCE_BYTES", record["size"] - 1)
    with pytest.raises(ThumbnailRefusedError, match="bytes is more than"):
        Thumbnails(any_store).get(run_id, record)
    assert any_store.read_helper(run_id, thumbnail_name(record)) is None


def test_bytes_that_are_no_image_are_refused_clearly(any_store: Store) -> None:
    run_id, (record,) = recorded(any_store, ("output_image", image_bytes(50, 50)[:60]))  # a cut-off PNG
    with pytest.raises(ThumbnailRefusedError, match="cannot be decoded"):
        Thumbnails(any_store).get(run_id, record)


@pytest.mark.parametrize(("entity_type", "content"), [("input", "a text"), ("safety", {"safe": True}),
                                                      ("output_audio", wav_bytes(0.2))])
def test_an_entity_that_is_no_image_or_video_has_no_thumbnail(any_store: Store, entity_type: str,
                                                               content: Any) -> None:
    run_id, (record,) = recorded(any_store, (entity_type, content))
    with pytest.raises(NoThumbnailError, match="thumbnails are made of images") as caught:
        Thumbnails(any_store).get(run_id, record)
    assert not isinstance(caught.value, ThumbnailRefusedError)


def test_two_requests_at_once_make_one_thumbnail(any_store: Store) -> None:
    run_id, (record,) = recorded(any_store, ("output_image", image_bytes(300, 300)))
    release, calls = threading.Event(), []

    def slow(file: BinaryIO, rec: dict[str, Any]) -> bytes:
        calls.append(1)
        assert release.wait(30)
        return make_thumbnail(file, rec)

    thumbs = Thumbnails(any_store, slow)
    key = f"{run_id}/{thumbnail_name(record)}"
    results: list[bytes] = []
    workers = [threading.Thread(target=lambda: results.append(thumbs.get(run_id, record))) for _ in range(2)]
    for worker in workers:
        worker.start()
    wait_until(lambda: calls and thumbs.making.users(key) == 2, what="both requests to be under way")
    release.set()
    for worker in workers:
        worker.join(30)
    assert len(calls) == 1 and len(results) == 2 and results[0] == results[1]
