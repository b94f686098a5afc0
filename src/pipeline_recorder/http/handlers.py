"""The routes of the HTTP API as framework-free functions: arguments in, a ``Response`` out.

Both adapters (``fastapi_app``, ``pipeline_recorder.flask``) call these and only translate the ``Response``; no
route logic lives in an adapter. Every error becomes the one JSON error body (``errors.response_for``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

from .. import events
from ..errors import EntityNotFoundError, RecorderError, ValidationError
from ..index import RunIndex
from ..naming import parse_entity_filename, validate_entity_type, validate_run_id
from ..store import RunStore, find_entity
from . import sse
from .documents import Documents, status_body
from .errors import error_response, response_for
from .files import serve_entity
from .headers import Headers, etag_matches
from .pages import Pages
from .response import ByteStream, EventStream, Response, json_response
from .runner_link import RunnerLink, outcome_answer
from .security import Guard
from .settings import Settings

Query = Mapping[str, str]
API = "/api/pipeline"


def _int_param(query: Query, name: str, *, minimum: int | None = None) -> int | None:
    value = query.get(name)
    if value is None:
        return None
    text = value.strip()
    digits = text[1:] if text.startswith("-") else text
    if not digits or not digits.isascii() or not digits.isdigit() or len(digits) > 18:
        raise ValidationError(f"query parameter {name}={value[:40]!r} is not an integer")
    number = int(text)
    if minimum is not None and number < minimum:
        raise ValidationError(f"query parameter {name}={number} must be at least {minimum}")
    return number


class Api:
    """The handlers of one server (one store, one settings)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = RunStore(settings.base_path)
        self.documents = Documents(self.store)
        self.guard = Guard(settings)
        self.pages = Pages()
        self.runner = RunnerLink(settings)
        self._index: RunIndex | None = None

    def close(self) -> None:
        """Stop the runner's workers and close the index (server shutdown)."""
        self.runner.close()
        if self._index is not None:
            self._index.close()

    @staticmethod
    def answer(handler: Callable[[], Response]) -> Response:
        """Run a handler, turning any exception into the JSON error answer (never an unformatted 500)."""
        try:
            return handler()
        except Exception as exc:  # every error gets the one error body
            return response_for(exc)

    # -- reading a run ---------------------------------------------------------------------------------------

    def status(self, run_id: str, query: Query, headers: Headers) -> Response:
        """GET /api/pipeline/{run_id}/status[?since=REVISION]: the run's metadata.json, ETag, 304."""
        since = _int_param(query, "since", minimum=0)
        snapshot = self.documents.snapshot(run_id)
        body, etag = status_body(snapshot, since)
        out = {"ETag": etag, "Cache-Control": "no-cache"}
        if etag_matches(headers.get("If-None-Match"), etag):
            return Response(304, out)
        return Response(200, {"Content-Type": "application/json", **out}, body)

    def entity(self, run_id: str, entity_type: str, query: Query, headers: Headers) -> Response:
        """GET /api/pipeline/{run_id}/entity/{entity_type}[?index=N]: the latest (or N-th) entity of a type."""
        validate_run_id(run_id)
        validate_entity_type(entity_type)
        index = _int_param(query, "index")
        doc = self.documents.snapshot(run_id).doc
        return serve_entity(self.store, run_id, find_entity(doc, entity_type, index), headers)

    def file(self, run_id: str, filename: str, headers: Headers) -> Response:
        """GET /api/pipeline/{run_id}/file/{filename}: exactly the entity with that listed filename."""
        validate_run_id(run_id)
        if parse_entity_filename(filename) is None:
            raise ValidationError(f"filename {filename[:80]!r} is not an entity filename: expected "
                                  "'{sequence:02d}_{entity_type}.{ext}' as listed in the run's metadata")
        doc = self.documents.snapshot(run_id).doc
        for record in doc["entities"]:
            if record.get("filename") == filename:
                return serve_entity(self.store, run_id, record, headers)
        raise EntityNotFoundError(f"run {run_id!r} lists no file {filename!r}")

    def entities(self, run_id: str, root: str = "") -> Response:
        """GET /api/pipeline/{run_id}/entities: every entity record with its ``url`` and ``file_url``."""
        doc = self.documents.snapshot(run_id).doc
        base = f"{root}{API}/{quote(run_id, safe='')}"
        listed = [{**record, "url": f"{base}/entity/{quote(str(record['type']), safe='')}",
                   "file_url": f"{base}/file/{quote(str(record['filename']), safe='')}"}
                  for record in doc["entities"]]
        return json_response(200, {"run_id": run_id, "entity_count": len(listed), "entities": listed},
                             {"Cache-Control": "no-cache"})

    def events(self, run_id: str, headers: Headers, query: Query) -> Response:
        """GET /api/pipeline/{run_id}/events: Server-Sent Events, resumable with Last-Event-ID."""
        last = events.parse_last_event_id(headers.get("Last-Event-ID") or query.get("last_event_id"))
        self.documents.snapshot(run_id)  # 404 / 409 now, as JSON, rather than a stream that ends at once
        heartbeat = self.settings.heartbeat_seconds
        store = self.store

        async def open_async() -> AsyncIterator[bytes]:
            yield sse.RETRY
            try:
                async for event in events.follow(store, run_id, last, heartbeat=heartbeat):
                    yield sse.frame(event)
            except RecorderError:
                return  # the run vanished between the check and the follow: end the stream

        def open_sync() -> Iterator[bytes]:
            yield sse.RETRY
            try:
                for event in events.follow_sync(store, run_id, last, heartbeat=heartbeat):
                    yield sse.frame(event)
            except RecorderError:
                return

        return Response(200, {"Content-Type": sse.MEDIA_TYPE, **sse.HEADERS}, EventStream(open_async, open_sync))

    # -- listing and runner ----------------------------------------------------------------------------------

    def runs(self, query: Query, headers: Headers) -> Response:
        """GET /api/pipeline/runs: runs newest first, filtered, one page per cursor (guarded by the token)."""
        if (refused := self.guard.check_token(headers.get("Authorization"))) is not None:
            return refused
        summaries, next_cursor = self.list_runs(query)
        return json_response(200, {"runs": summaries, "next_cursor": next_cursor}, {"Cache-Control": "no-cache"})

    def list_runs(self, query: Query) -> tuple[list[dict[str, Any]], str | None]:
        """The one place the listing comes from: the SQLite run index (rebuilt from the folders when needed)."""
        if self._index is None:
            self._index = RunIndex(self.store)
        # An empty parameter (a blank form field: ?status=) means no filter.
        filters = {name: query.get(name) or None for name in ("config_name", "user_id", "status", "since", "until",
                                                              "cursor")}
        limit = query.get("limit") or None
        return self._index.query(**filters, limit=50 if limit is None else limit)  # type: ignore[arg-type]

    def configs(self) -> Response:
        """GET /api/schema/configs: the pipeline configs the runner knows."""
        return json_response(200, {"configs": self.runner.service().list_configs()})

    def execute(self, body: bytes, headers: Headers) -> Response:
        """POST /api/schema/pipeline/execute: start (or run to the end) a configured pipeline. Blocking."""
        if (refused := self.guard.check_token(headers.get("Authorization"))) is not None:
            return refused
        if len(body) > 1_000_000:
            return error_response(413, "the request body is larger than 1 MB")
        try:
            parsed = json.loads(body) if body.strip() else None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValidationError(f"the request body is not valid JSON: {exc}") from None
        except RecursionError:  # nesting deeper than the parser goes: bad input, never a 500
            raise ValidationError("the request body nests too deeply; send a flat JSON object") from None
        status, answer = outcome_answer(self.runner.service().execute(parsed))
        return json_response(status, answer)

    def cancel(self, run_id: str, headers: Headers) -> Response:
        """POST /api/pipeline/{run_id}/cancel: ask a running pipeline to stop."""
        if (refused := self.guard.check_token(headers.get("Authorization"))) is not None:
            return refused
        self.documents.run_folder(run_id)
        return json_response(200, self.runner.service().cancel(run_id))

    def export(self, run_id: str, headers: Headers) -> Response:
        """GET /api/pipeline/{run_id}/export: the run as a zip, streamed (guarded by the token)."""
        if (refused := self.guard.check_token(headers.get("Authorization"))) is not None:
            return refused
        self.documents.snapshot(run_id)
        chunks = self.runner.zip_export(self.store, run_id)
        return Response(200, {"Content-Type": "application/zip", "Cache-Control": "no-store",
                              "Content-Disposition": f'attachment; filename="{run_id}.zip"'}, ByteStream(chunks))
