"""Real media files for the thumbnail tests, made here: images, a decompression bomb, a video, a sound."""

from __future__ import annotations

import io
import math
import struct
import wave

from PIL import Image


def image_bytes(width: int, height: int, color: tuple[int, int, int] = (200, 30, 30), fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format=fmt)
    return out.getvalue()


def gif_bytes(width: int = 90, height: int = 60) -> bytes:
    """An animated GIF of two frames (red, then blue)."""
    out = io.BytesIO()
    frames = [Image.new("RGB", (width, height), (255, 0, 0)), Image.new("RGB", (width, height), (0, 0, 255))]
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue()


def bomb_png(width: int, height: int) -> bytes:
    """A small PNG whose header declares width x height pixels (one bit each, all zero: it compresses ~1000:1)."""
    out = io.BytesIO()
    Image.new("1", (width, height)).save(out, format="PNG", optimize=True)
    return out.getvalue()


def mp4_bytes(width: int = 160, height: int = 120, frames: int = 6) -> bytes:
    """A short MPEG-4 video whose first frame is green and the rest magenta (PyAV encodes it)."""
    import av

    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(frames):
            color = (0, 200, 0) if index == 0 else (200, 0, 200)
            frame = av.VideoFrame.from_image(Image.new("RGB", (width, height), color))
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def wav_bytes(seconds: float = 1.5, rate: int = 8000) -> bytes:
    """A mono 440 Hz tone of ``seconds``."""
    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(rate)
        sound.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
                                   for i in range(int(seconds * rate))))
    return out.getvalue()


def decoded(webp: bytes) -> Image.Image:
    """A thumbnail decoded (the oracle: Pillow reading the WebP, not the code that made it)."""
    image = Image.open(io.BytesIO(webp))
    assert image.format == "WEBP"
    image.load()
    return image
