"""Thumbnails of image entities and posters of video entities: made once, cached beside the run as helper files.

A thumbnail is a WebP of at most ``THUMBNAIL_BOX`` x ``THUMBNAIL_BOX`` pixels (aspect kept, never enlarged), made
from the entity's bytes and stored through the store's helper files (``Store.write_helper``) under
``.thumbnails/{sha256}-{box}.webp``: a hidden name, so never an entity, and named by the entity's hash, so a changed
entity gets a new thumbnail and the old one is never served for it.

Entities come from users, so the decoding is guarded: only a few raster formats are opened, an image above
``MAX_SOURCE_BYTES`` or whose header declares more than ``MAX_SOURCE_PIXELS`` pixels is refused before its
pixels are decoded (a decompression bomb), and Pillow's own bomb check (``Image.MAX_IMAGE_PIXELS``) is made an
error rather than a warning; a video's frames are held to the same pixel limit (only its first frame is decoded,
so its size in bytes does not matter). Nothing is cached for a refused entity.

Posters of videos need PyAV (the ``video`` extra, whose wheel bundles ffmpeg); without it a video gets a
``NoThumbnailError`` that says so, and the viewer shows its generic video icon.

>>> thumbs = Thumbnails(store)                                  # doctest: +SKIP
>>> webp = thumbs.get(run_id, record)                           # made on the first call, read after it
"""

from __future__ import annotations

import io
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

from PIL import Image, ImageOps

from .errors import NoThumbnailError, ThumbnailRefusedError
from .stores.base import Store

THUMBNAIL_BOX = 320  # pixels: the longest side of a thumbnail (sharp in a list row on a 2x screen)
WEBP_QUALITY = 80
THUMBNAIL_DIRNAME = ".thumbnails"
MAX_SOURCE_BYTES = 64 * 1024 * 1024  # an image entity larger than this is not decoded
MAX_SOURCE_PIXELS = 40_000_000  # width x height declared by the header: 40 MP (8000 x 5000) at most
# The formats decoded (Pillow's names) by MIME type; every other image type (svg, tiff, heic, ...) has no thumbnail.
IMAGE_FORMATS = {"image/png": "PNG", "image/apng": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP",
                 "image/gif": "GIF", "image/bmp": "BMP"}
VIDEO_PREFIX = "video/"


def thumbnail_name(record: dict[str, Any]) -> str:
    """The helper file name of an entity's thumbnail: named by its sha256 (NoThumbnailError without one)."""
    sha = record.get("sha256")
    if not isinstance(sha, str) or len(sha) != 64 or not all(c in "0123456789abcdef" for c in sha):
        raise NoThumbnailError(f"entity {record.get('filename')!r} has no recorded sha256, so no thumbnail can be "
                               "kept for it")
    return f"{THUMBNAIL_DIRNAME}/{sha}-{THUMBNAIL_BOX}.webp"


def _mime(record: dict[str, Any]) -> str:
    return str(record.get("mime_type") or "").split(";", 1)[0].strip().lower()


def check_kind(record: dict[str, Any]) -> str:
    """The thumbnail's helper file name of an entity of a kind that gets one (an image format decoded here, or
    a video, with a recorded sha256); NoThumbnailError saying what is accepted for any other."""
    mime = _mime(record)
    if not (mime in IMAGE_FORMATS or mime.startswith(VIDEO_PREFIX)):
        raise NoThumbnailError(f"entity {record.get('filename')!r} is {mime or 'of no recorded type'}: thumbnails "
                               f"are made of images ({', '.join(sorted(IMAGE_FORMATS))}) and posters of videos "
                               "(video/*)")
    return thumbnail_name(record)


def _webp(image: Image.Image) -> bytes:
    image = ImageOps.exif_transpose(image)
    image.thumbnail((THUMBNAIL_BOX, THUMBNAIL_BOX), Image.Resampling.LANCZOS)
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB")
    out = io.BytesIO()
    image.save(out, "WEBP", quality=WEBP_QUALITY, method=4)
    return out.getvalue()


@contextmanager
def _bomb_errors(name: str) -> Iterator[None]:
    """Pillow's decompression-bomb warning as an error, and every refusal of Pillow as ThumbnailRefusedError."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            yield
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise ThumbnailRefusedError(f"{name}: refused as a decompression bomb ({exc})") from None
        except (OSError, ValueError, SyntaxError, EOFError) as exc:  # what Pillow raises for bytes it cannot read
            raise ThumbnailRefusedError(f"{name}: the image cannot be decoded ({type(exc).__name__}: "
                                        f"{str(exc)[:120]})") from None


def _check_pixels(name: str, width: int, height: int) -> None:
    if width * height > MAX_SOURCE_PIXELS:
        raise ThumbnailRefusedError(f"{name}: {width}x{height} pixels is more than the {MAX_SOURCE_PIXELS:,} a "
                                    "thumbnail is made of (a decompression bomb, or simply too large)")


def image_thumbnail(file: BinaryIO, mime: str, name: str = "the image") -> bytes:
    """The WebP thumbnail of an image file of type ``mime``. ThumbnailRefusedError for a bomb or bad bytes."""
    with _bomb_errors(name), Image.open(file, formats=[IMAGE_FORMATS[mime]]) as image:
        _check_pixels(name, *image.size)  # from the header: nothing decoded yet
        image.draft("RGB", (THUMBNAIL_BOX, THUMBNAIL_BOX))  # JPEG: decode at a fraction of the size
        image.seek(0)  # an animation: its first frame
        image.load()
        return _webp(image)


def video_poster(file: BinaryIO, name: str = "the video") -> bytes:
    """The WebP poster (first frame) of a video file. NoThumbnailError without PyAV; ThumbnailRefusedError for
    a video that cannot be decoded or whose frames are too large."""
    try:
        import av  # the `video` extra: its wheel bundles ffmpeg
    except ImportError:
        raise NoThumbnailError(f"{name}: posters of videos need PyAV, which this server lacks (install "
                               "'pipeline-recorder[video]')") from None
    try:
        with av.open(file, mode="r") as container:
            streams = container.streams.video
            if not streams:
                raise ThumbnailRefusedError(f"{name}: the file has no video stream")
            stream = streams[0]
            _check_pixels(name, int(stream.codec_context.width), int(stream.codec_context.height))
            for frame in container.decode(stream):
                _check_pixels(name, int(frame.width), int(frame.height))
                image: Image.Image = frame.to_image()  # type: ignore[no-untyped-call]
                return _webp(image)
    except av.FFmpegError as exc:
        raise ThumbnailRefusedError(f"{name}: the video cannot be decoded ({str(exc)[:120]})") from None
    raise ThumbnailRefusedError(f"{name}: the video has no frame")


def make_thumbnail(file: BinaryIO, record: dict[str, Any]) -> bytes:
    """The thumbnail (image) or poster (video) of an entity's bytes, checked against the limits."""
    name = f"entity {record.get('filename')!r}"
    mime = _mime(record)
    if mime in IMAGE_FORMATS:
        size = record.get("size")
        if isinstance(size, int) and size > MAX_SOURCE_BYTES:
            raise ThumbnailRefusedError(f"{name}: {size:,} bytes is more than the {MAX_SOURCE_BYTES:,} a thumbnail "
                                        "is made of")
        return image_thumbnail(file, mime, name)
    check_kind(record)
    return video_poster(file, name)


class _OncePerKey:
    """One maker per key at a time: a caller that finds the key being made waits for it instead of making it too."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextmanager
    def held(self, key: str) -> Iterator[None]:
        with self._mutex:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._mutex:
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)

    def users(self, key: str) -> int:
        """How many callers hold or wait for ``key`` (for tests of the waiting)."""
        with self._mutex:
            return self._locks.get(key, (None, 0))[1]


class Thumbnails:
    """The thumbnails of one store's entities: read from the run's helper files, made there when missing.

    Two requests for one thumbnail in this process make it once (the second waits and reads it); two processes
    may each make it, and each writes it atomically, so a reader only ever sees a whole one.
    """

    def __init__(self, store: Store, make: Callable[[BinaryIO, dict[str, Any]], bytes] = make_thumbnail) -> None:
        self.store = store
        self._make = make
        self.making = _OncePerKey()

    def get(self, run_id: str, record: dict[str, Any]) -> bytes:
        """The WebP thumbnail of a listed entity. NoThumbnailError (not an image or video),
        ThumbnailRefusedError (a bomb, undecodable bytes), EntityNotFoundError, RunNotFoundError."""
        name = check_kind(record)
        cached = self.store.read_helper(run_id, name)
        if cached is not None:
            return cached
        with self.making.held(f"{run_id}/{name}"):
            cached = self.store.read_helper(run_id, name)  # made by the caller we waited for
            if cached is not None:
                return cached
            entity = self.store.open_entity(run_id, record)
            try:
                webp = self._make(entity.file, record)
            finally:
                entity.close()
            self.store.write_helper(run_id, name, webp)
            return webp


__all__ = ["MAX_SOURCE_BYTES", "MAX_SOURCE_PIXELS", "THUMBNAIL_BOX", "Thumbnails", "check_kind", "image_thumbnail",
           "make_thumbnail", "thumbnail_name", "video_poster"]
