"""What the browser tests and the screenshot script share: the real server on a free loopback port, Debian's
chromium driven by Playwright, and a polling wait with a deadline."""

from __future__ import annotations

import contextlib
import io
import math
import os
import socket
import struct
import threading
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from PIL import Image

from pipeline_recorder.http.fastapi_app import create_app
from pipeline_recorder.http.settings import Settings
from support import wait_until


@dataclass
class Server:
    """A server a browser test talks to: its base URL and the store folder it serves."""

    url: str
    base_path: Path


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MISSING_CHROMIUM = (
    f"the browser tests need Debian's chromium at {CHROMIUM}: install it with 'apt-get install chromium' "
    "(as root; `make test` does this when it can). Playwright's own browser download is never used."
)



@contextlib.contextmanager
def running_server(base_path: Path, config_dirs: tuple[Path, ...] = (), token: str | None = None) -> Iterator[str]:
    """The project's FastAPI app under uvicorn on 127.0.0.1 (a port the OS picks), runs under ``base_path``,
    with the pipeline configs of ``config_dirs`` besides the shipped ones and, if given, a token to ask for."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(Settings(base_path=base_path, port=port, config_dirs=config_dirs,
                                 token=token))
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started or not thread.is_alive(), what="the server to start")
        if not server.started:
            raise RuntimeError("the server did not start; see the log above")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def launch_chromium(playwright: Any) -> Any:
    """Debian's chromium, headless; a clear failure when it is missing."""
    if not os.access(CHROMIUM, os.X_OK):
        raise FileNotFoundError(MISSING_CHROMIUM)
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def png_bytes(width: int = 64, height: int = 48) -> bytes:
    """A real PNG: a colour gradient, so a screenshot shows something."""
    image = Image.new("RGB", (width, height))
    image.putdata([(x * 255 // width, y * 255 // height, 160) for y in range(height) for x in range(width)])
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def wav_bytes(seconds: float = 0.5, rate: int = 8000) -> bytes:
    """A real WAV: a 440 Hz tone."""
    frames = b"".join(
        struct.pack("<h", int(12000 * math.sin(2 * math.pi * 440 * i / rate))) for i in range(int(seconds * rate))
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return buffer.getvalue()
