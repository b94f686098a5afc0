"""Real HTTP servers on a free loopback port for the contract tests: uvicorn (FastAPI) and werkzeug (Flask)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from pipeline_recorder.flask import SETTINGS_KEY, pipeline_bp, runner_bp, trash_bp, writes_bp
from pipeline_recorder.http.fastapi_app import create_app
from pipeline_recorder.http.server import HEADER_TIMEOUT_SECONDS, server_config
from pipeline_recorder.http.settings import Settings
from support import wait_until

ADAPTERS = ("fastapi", "flask")


@dataclass
class Live:
    """A running server over a store: its URL, adapter name, store root and a ready client."""

    adapter: str
    url: str
    base: Path
    client: httpx.Client
    run_id: str  # a completed run with several entity kinds



@contextmanager
def fastapi_server(settings: Settings, header_timeout: float = HEADER_TIMEOUT_SECONDS,
                   app: object = None) -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = server_config(app or create_app(settings), host="127.0.0.1", port=port, log_level="warning",
                           timeout_graceful_shutdown=1, header_timeout=header_timeout)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_until(lambda: server.started, what="uvicorn to start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()


def flask_app(settings: Settings) -> Flask:
    app = Flask("host_app")
    app.config[SETTINGS_KEY] = settings
    app.register_blueprint(pipeline_bp)
    app.register_blueprint(runner_bp)
    app.register_blueprint(writes_bp)
    app.register_blueprint(trash_bp)
    return app


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: object, **kwargs: object) -> None:
        pass


@contextmanager
def flask_server(settings: Settings, app: Flask | None = None) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app or flask_app(settings), threaded=True, request_handler=_QuietHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(15)
        server.server_close()


@contextmanager
def serve(adapter: str, settings: Settings) -> Iterator[str]:
    """Start the adapter's real server over ``settings``; yields its base URL."""
    with (fastapi_server if adapter == "fastapi" else flask_server)(settings) as url:
        yield url
