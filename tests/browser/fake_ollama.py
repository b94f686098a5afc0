"""A small Ollama server for the browser tests: it speaks ``/api/generate`` and ``/api/chat`` on a free loopback
port and holds every answer until the test opens its gate, so a run stays inside a stage for exactly as long as a
test needs (no timing guesses). The same pattern as tests/runner/runner_fakes.py, kept to what the viewer needs."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

GATE_SECONDS = 30  # a test that never opens the gate still ends: each held request answers after this


def answer(system: str, user: str) -> str:
    """What the model says: a safety judge hears SAFE (so nothing blocks), everything else is retold."""
    if "SAFE or UNSAFE" in system:
        return "SAFE"
    if "Translate" in system:
        return user
    return f"retold: {user}"


class GatedOllama:
    """Ollama on 127.0.0.1; ``entered`` is set when a request arrives, ``gate`` must be set for it to answer."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.entered = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body: dict[str, Any] = json.loads(self.rfile.read(length) or b"{}")
                fake.entered.set()
                fake.gate.wait(GATE_SECONDS)
                if self.path == "/api/generate":
                    reply: dict[str, Any] = {"model": body.get("model"), "done": True,
                                             "response": answer(body.get("system", ""), body.get("prompt", ""))}
                elif self.path == "/api/chat":
                    said = {m.get("role"): m.get("content", "") for m in body.get("messages", [])}
                    reply = {"model": body.get("model"), "done": True,
                             "message": {"role": "assistant", "content": answer(said.get("system", ""),
                                                                                said.get("user", ""))}}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()
