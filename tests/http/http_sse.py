"""A small SSE client for tests: reads a stream in a thread and collects its events and comments."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Received:
    id: int | None
    event: str
    data: Any


@dataclass
class SSEReader:
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    events: list[Received] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    status: int | None = None
    content_type: str | None = None
    closed_by_server: bool = False
    error: BaseException | None = None

    def start(self) -> SSEReader:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            with httpx.Client(timeout=httpx.Timeout(10, read=30)) as client, \
                    client.stream("GET", self.url, headers=self.headers) as response:
                self.status = response.status_code
                self.content_type = response.headers.get("content-type")
                if response.status_code != 200:
                    response.read()
                    return
                fields: dict[str, str] = {}
                for line in response.iter_lines():
                    if self._stop.is_set():
                        return
                    if line.startswith(":"):
                        self.comments.append(line[1:].strip())
                    elif line == "":
                        if "event" in fields:
                            self.events.append(Received(int(fields["id"]) if "id" in fields else None,
                                                        fields["event"], json.loads(fields.get("data", "null"))))
                        fields = {}
                    else:
                        name, _, value = line.partition(":")
                        fields[name] = value.removeprefix(" ")
                self.closed_by_server = True
        except BaseException as exc:  # the test reads it
            self.error = exc

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float = 15) -> None:
        self._thread.join(timeout)

    def kinds(self) -> list[str]:
        return [e.event for e in self.events]
