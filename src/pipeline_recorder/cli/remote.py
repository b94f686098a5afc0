"""Talking to a running server for the commands' ``--server``: start a run, follow its events, list runs, read a
run's metadata and entities, and find the run a unique id prefix names.

Events come from ``GET /api/pipeline/{run_id}/events`` (Server-Sent Events); a dropped connection is resumed
with ``Last-Event-ID``, so nothing is missed or seen twice. SSE text is parsed by a small pure function.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ..errors import RunNotFoundError, ValidationError
from ..events import END, Event
from ..index import MAX_LIMIT
from ..naming import validate_run_id
from ..ops.listing import match_run_id
from .exit_codes import ServerError
from .wording import transport_problem

RECONNECTS = 5
CONNECT_TIMEOUT = 10.0


@dataclass
class _Pending:
    event: str = "message"
    data: list[str] | None = None
    id: str | None = None


def parse_sse(lines: Iterable[str]) -> Iterator[tuple[str | None, str, str]]:
    """``(id, event, data)`` for each message of an SSE stream given line by line (comments are skipped)."""
    pending = _Pending()
    for raw in lines:
        line = raw.rstrip("\r\n")
        if line == "":
            if pending.data is not None:
                yield pending.id, pending.event, "\n".join(pending.data)
            pending = _Pending()
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            pending.event = value
        elif name == "data":
            pending.data = [*(pending.data or []), value]
        elif name == "id":
            pending.id = value


class ServerClient:
    """A client of one pipeline-recorder server."""

    def __init__(self, url: str, token: str | None = None, *, timeout: float = CONNECT_TIMEOUT) -> None:
        if not url.startswith(("http://", "https://")):
            raise ServerError(f"--server {url[:80]!r} is not an http:// or https:// URL")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.url = url.rstrip("/")
        self._client = httpx.Client(base_url=self.url, headers=headers,
                                    timeout=httpx.Timeout(timeout, read=None))

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ServerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def _error(response: httpx.Response) -> str:
        try:
            body = response.json()
            detail = body.get("error") if isinstance(body, dict) else None
        except ValueError:
            detail = None
        hint = "; give its token with --token (or PIPELINE_RECORDER_TOKEN)" if response.status_code == 401 else ""
        return (f"the server answered {response.status_code}: "
                f"{detail or response.text[:200] or response.reason_phrase}{hint}")

    def execute(self, schema: str, input_text: str, execution_mode: str, safety_level: str,
                user_id: str | None = None) -> dict[str, Any]:
        """Start a run without waiting (``"wait": false``); returns the server's answer with ``run_id``."""
        body: dict[str, Any] = {"schema": schema, "input_text": input_text, "execution_mode": execution_mode,
                                "safety_level": safety_level, "wait": False}
        if user_id is not None:
            body["user_id"] = user_id
        response = self._client.post("/api/schema/pipeline/execute", json=body)
        if response.status_code == 404:
            raise LookupError(f"{self._error(response)} (`pipeline-recorder run --help`; the server's configs are "
                              f"listed at {self.url}/api/schema/configs)")
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code >= 400 or not isinstance(answer, dict) or "run_id" not in answer:
            raise ServerError(self._error(response))
        return answer

    def _get(self, path: str, **params: Any) -> httpx.Response:
        """A GET that answered 2xx; RunNotFoundError for 404, ServerError for any other error."""
        response = self._client.get(path, params={k: v for k, v in params.items() if v is not None})
        if response.status_code == 404:
            raise RunNotFoundError(self._error(response))
        if response.status_code >= 400:
            raise ServerError(self._error(response))
        return response

    def _json(self, path: str, **params: Any) -> dict[str, Any]:
        try:
            doc = self._get(path, **params).json()
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            raise ServerError(f"{self.url}{path} did not answer with a JSON object; is --server a pipeline-recorder "
                              "server?")
        return doc

    def put_json(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """A PUT of a JSON body that answered 2xx with a JSON object; RunNotFoundError for 404, ValidationError for
        400 (the server's message), ServerError otherwise."""
        response = self._client.put(path, json=body)
        if response.status_code == 404:
            raise RunNotFoundError(self._error(response))
        if response.status_code == 400:
            raise ValidationError(self._error(response))
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code >= 400 or not isinstance(answer, dict):
            raise ServerError(self._error(response))
        return answer

    def status(self, run_id: str) -> dict[str, Any]:
        """The run's metadata, as ``GET /api/pipeline/{run_id}/status`` answers it."""
        return self._json(f"/api/pipeline/{run_id}/status")

    def text_entity(self, run_id: str, filename: str) -> str:
        """The content of one of the run's text files."""
        return self._get(f"/api/pipeline/{run_id}/file/{filename}").text

    def export(self, run_id: str, output: Path, *, overwrite: bool = False) -> int:
        """Download the run's zip (``GET /api/pipeline/{run_id}/export``) into ``output``, streamed; the file
        appears only once it is complete (a temp file beside it, then a rename). Returns its size."""
        if output.exists() and not overwrite:
            raise FileExistsError(errno.EEXIST, f"{output} already exists; add --force to replace it")
        temp = output.with_name(f".{output.name}.part-{os.getpid()}")
        try:
            with self._client.stream("GET", f"/api/pipeline/{run_id}/export") as response:
                if response.status_code >= 400:
                    response.read()
                    error = self._error(response)
                    raise RunNotFoundError(error) if response.status_code == 404 else ServerError(error)
                size = 0
                with open(temp, "wb") as out:
                    for chunk in response.iter_bytes():
                        out.write(chunk)
                        size += len(chunk)
                    out.flush()
                    os.fsync(out.fileno())
            os.replace(temp, output)
            return size
        except httpx.TransportError as exc:
            raise ServerError(transport_problem(exc, self.url)) from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)

    def file_url(self, run_id: str, filename: str) -> str:
        return f"{self.url}/api/pipeline/{run_id}/file/{filename}"

    def _listing(self, page_size: int = MAX_LIMIT, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every run summary the listing ``GET /api/pipeline/runs`` gives for the filters, newest first."""
        cursor: str | None = None
        while True:
            page = self._json("/api/pipeline/runs", limit=page_size, cursor=cursor, **filters)
            runs = [run for run in page.get("runs", []) if isinstance(run, dict)]
            yield from runs
            cursor = page.get("next_cursor")
            if not cursor or not runs:
                return

    def runs(self, limit: int, **filters: Any) -> list[dict[str, Any]]:
        """Up to ``limit`` run summaries, newest first."""
        return list(itertools.islice(self._listing(min(limit, MAX_LIMIT), **filters), limit))

    def resolve(self, text: str) -> str:
        """The run id ``text`` names on the server: the id itself, or a unique prefix of one."""
        validate_run_id(text)
        try:
            return str(self.status(text)["run_id"])
        except RunNotFoundError:
            pass
        # The listing has no prefix filter: the ids are read page by page.
        ids = [str(run.get("run_id")) for run in self._listing()]
        return match_run_id(text, ids, self.url)

    def events(self, run_id: str) -> Iterator[Event]:
        """The run's events until ``end``, resuming after dropped connections (up to RECONNECTS in a row)."""
        last_id: str | None = None
        failures = 0
        connected = False  # a server that cannot be reached at all is an error at once, not a reconnect
        while True:
            headers = {"Accept": "text/event-stream"}
            if last_id is not None:
                headers["Last-Event-ID"] = last_id
            try:
                with self._client.stream("GET", f"/api/pipeline/{run_id}/events", headers=headers) as response:
                    if response.status_code == 404:
                        response.read()
                        raise RunNotFoundError(self._error(response))
                    if response.status_code >= 400:
                        response.read()
                        raise ServerError(self._error(response))
                    connected = True
                    for event_id, name, data in parse_sse(response.iter_lines()):
                        failures = 0
                        if event_id is not None:
                            last_id = event_id
                        event = Event(int(event_id) if event_id and event_id.isdigit() else None, name,
                                      json.loads(data) if data else None)
                        yield event
                        if name == END:
                            return
            except (httpx.TransportError, json.JSONDecodeError) as exc:
                if not connected:
                    raise ServerError(transport_problem(exc, self.url) if isinstance(exc, httpx.HTTPError)
                                      else f"the server at {self.url} sent an unreadable event") from exc
                failures += 1
                if failures > RECONNECTS:
                    raise ServerError(f"lost the event stream of run {run_id} from {self.url} "
                                      f"{RECONNECTS} times in a row; try `pipeline-recorder watch` again") from exc
                continue
            # The server closed the stream without "end": resume where we were.
            failures += 1
            if failures > RECONNECTS:
                raise ServerError(f"the server closed the event stream of run {run_id} before the run ended")
