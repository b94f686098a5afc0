"""GET /api/pipeline/{run_id}/thumbnail/{filename}: real images, a bomb, a video, on both adapters."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from http_servers import ADAPTERS, serve

from media_samples import bomb_png, decoded, image_bytes, mp4_bytes, wav_bytes
from pipeline_recorder import LivePipelineRecorder, new_run_id
from pipeline_recorder.http.settings import Settings


@dataclass
class Served:
    client: httpx.Client
    base: Path
    run_id: str

    def thumbnail(self, filename: str, **headers: str) -> httpx.Response:
        return self.client.get(f"/api/pipeline/{self.run_id}/thumbnail/{filename}", headers=headers)


@pytest.fixture(scope="module", params=ADAPTERS)
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    base = tmp_path_factory.mktemp("store")
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=base)
    rec.save_entity("input", "Ein kleiner Hund")                          # 01_input.txt
    rec.save_entity("output_image", image_bytes(900, 450, (20, 40, 220)))  # 02_output_image.png
    rec.save_entity("output_image", bomb_png(7000, 7000))                  # 03_output_image.png
    rec.save_entity("output_video", mp4_bytes())                           # 04_output_video.mp4
    rec.save_entity("output_audio", wav_bytes(0.3))                        # 05_output_audio.wav
    rec.mark_complete()
    with serve(request.param, Settings(base_path=base)) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield Served(client, base, rec.run_id)


def test_an_image_thumbnail_is_a_bounded_webp_with_the_entity_headers(served: Served) -> None:
    answer = served.thumbnail("02_output_image.png")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "image/webp"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["cache-control"] == "no-cache"
    assert answer.headers["content-security-policy"].startswith("sandbox")
    assert answer.headers["content-disposition"].startswith("inline")
    image = decoded(answer.content)
    assert image.size == (320, 160)
    assert image.convert("RGB").getpixel((100, 80))[2] > 180
    cached = list((served.base / "pipeline_runs" / served.run_id / ".thumbnails").iterdir())
    assert [path.read_bytes() for path in cached if path.name.endswith(".webp")][:1] == [answer.content]
    # The ETag names the entity's hash: a client that has it gets 304 and no body.
    again = served.thumbnail("02_output_image.png", **{"If-None-Match": answer.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_the_thumbnail_is_never_listed_as_an_entity(served: Served) -> None:
    served.thumbnail("02_output_image.png")
    listed = served.client.get(f"/api/pipeline/{served.run_id}/entities").json()
    assert [e["filename"] for e in listed["entities"]] == ["01_input.txt", "02_output_image.png",
                                                          "03_output_image.png", "04_output_video.mp4",
                                                          "05_output_audio.wav"]


def test_a_video_gets_a_poster(served: Served) -> None:
    answer = served.thumbnail("04_output_video.mp4")
    assert answer.status_code == 200, answer.text
    assert decoded(answer.content).size == (160, 120)


def test_a_decompression_bomb_gets_422_and_nothing_is_cached(served: Served) -> None:
    answer = served.thumbnail("03_output_image.png")
    assert answer.status_code == 422
    assert "pixels" in answer.json()["error"]
    doc = served.client.get(f"/api/pipeline/{served.run_id}/status").json()
    (bomb,) = [e for e in doc["entities"] if e["filename"] == "03_output_image.png"]
    folder = served.base / "pipeline_runs" / served.run_id / ".thumbnails"
    assert not (folder / f"{bomb['sha256']}-320.webp").exists()


@pytest.mark.parametrize("filename", ["01_input.txt", "05_output_audio.wav"])
def test_an_entity_that_is_no_image_gets_415_saying_what_has_thumbnails(served: Served, filename: str) -> None:
    answer = served.thumbnail(filename)
    assert answer.status_code == 415
    assert "thumbnails are made of images" in answer.json()["error"]


def test_unknown_files_and_malformed_names_are_404_and_400(served: Served) -> None:
    assert served.thumbnail("09_output_image.png").status_code == 404
    assert served.thumbnail(".thumbnails").status_code == 400
    assert served.client.get(f"/api/pipeline/{new_run_id()}/thumbnail/02_output_image.png").status_code == 404
