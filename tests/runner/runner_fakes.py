"""Small local HTTP servers that speak the backends' protocols (Ollama, OpenAI-compatible chat, ComfyUI).

Each listens on 127.0.0.1 on a free port, records the requests it got, and answers from a script the test sets.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from PIL import Image

from pipeline_recorder.runner.backends import EmbeddedTextBackend
from pipeline_recorder.runner.backends.protocol import TextResult

Reply = tuple[int, Any]  # (status, dict -> JSON | bytes | str)
Route = Callable[[dict[str, Any], dict[str, str]], Reply]



class FakeServer:
    """A threaded HTTP server on a free loopback port with scripted routes: ``routes[(method, path)]``."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Route] = {}
        self.requests: list[tuple[str, str, Any]] = []
        self.gate = threading.Event()
        self.gate.set()  # cleared by a test that wants requests to hang until it says so
        self.entered = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _serve(self, method: str) -> None:
                parsed = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else {}
                query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
                fake.requests.append((method, parsed.path, body))
                fake.entered.set()
                fake.gate.wait(30)
                route = fake.routes.get((method, parsed.path))
                if route is None:
                    route = next((r for (m, p), r in fake.routes.items()
                                  if m == method and p.endswith("*") and parsed.path.startswith(p[:-1])), None)
                status, reply = route(body, {**query, "_path": parsed.path}) if route else (404, {"error": "no"})
                if isinstance(reply, dict | list):
                    data, kind = json.dumps(reply).encode(), "application/json"
                elif isinstance(reply, str):
                    data, kind = reply.encode(), "text/plain"
                else:
                    data, kind = reply, "application/octet-stream"
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()

    def paths(self) -> list[str]:
        return [path for _, path, _ in self.requests]


def llm_answer(system: str, user: str) -> str:
    """What the fake language models answer: deterministic and recognisable."""
    if "SAFE or UNSAFE" in system:
        return "UNSAFE: violent" if "knife" in user else "SAFE"
    if "Translate" in system:
        return user.replace("Hund", "dog")
    return f"retold: {user}"


def ollama(api: str = "generate") -> FakeServer:
    fake = FakeServer()

    def generate(body: dict[str, Any], _: dict[str, str]) -> Reply:
        return 200, {"model": body["model"], "response": llm_answer(body.get("system", ""), body["prompt"]),
                     "done": True}

    def chat(body: dict[str, Any], _: dict[str, str]) -> Reply:
        system = next(m["content"] for m in body["messages"] if m["role"] == "system")
        user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        return 200, {"model": body["model"], "message": {"role": "assistant", "content": llm_answer(system, user)},
                     "done": True}

    fake.routes[("POST", "/api/generate")] = generate
    fake.routes[("POST", "/api/chat")] = chat
    return fake


def openai() -> FakeServer:
    fake = FakeServer()

    def completions(body: dict[str, Any], _: dict[str, str]) -> Reply:
        system = next(m["content"] for m in body["messages"] if m["role"] == "system")
        user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        return 200, {"id": "x", "object": "chat.completion", "model": body["model"],
                     "choices": [{"index": 0, "message": {"role": "assistant", "content": llm_answer(system, user)},
                                  "finish_reason": "stop"}]}

    fake.routes[("POST", "/v1/chat/completions")] = completions
    return fake


def png_bytes(colour: tuple[int, int, int] = (10, 200, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(out, format="PNG")
    return out.getvalue()


def comfyui(polls_before_done: int = 2) -> FakeServer:
    """ComfyUI: /prompt queues, /history answers {} until the prompt is done, /view serves the PNG."""
    fake = FakeServer()
    polls: dict[str, int] = {}

    def prompt(body: dict[str, Any], _: dict[str, str]) -> Reply:
        if not isinstance(body.get("prompt"), dict):
            return 400, {"error": {"message": "no prompt"}}
        prompt_id = f"p{len(polls) + 1}"
        polls[prompt_id] = 0
        return 200, {"prompt_id": prompt_id, "number": 1, "node_errors": {}}

    def history(_: dict[str, Any], query: dict[str, str]) -> Reply:
        prompt_id = query["_path"].rsplit("/", 1)[-1]
        polls[prompt_id] = polls.get(prompt_id, 0) + 1
        if polls[prompt_id] <= polls_before_done:
            return 200, {}
        return 200, {prompt_id: {"outputs": {"9": {"images": [{"filename": "out_00001_.png", "subfolder": "",
                                                                "type": "output"}]}},
                                 "status": {"status_str": "success", "completed": True, "messages": []}}}

    def view(_: dict[str, Any], query: dict[str, str]) -> Reply:
        return (200, png_bytes()) if query.get("filename") == "out_00001_.png" else (404, {"error": "no file"})

    fake.routes[("POST", "/prompt")] = prompt
    fake.routes[("GET", "/history/*")] = history
    fake.routes[("GET", "/view")] = view
    return fake


class GatedText(EmbeddedTextBackend):
    """The embedded text backend, but translation waits until the test opens the gate (a backend that hangs)."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.entered = threading.Semaphore(0)  # released each time a translation starts waiting

    def translate(self, text: str, *, target_language: str = "en") -> TextResult:
        self.entered.release()
        assert self.gate.wait(30), "the test never opened the gate"
        return super().translate(text, target_language=target_language)
