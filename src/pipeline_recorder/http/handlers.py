"""The handlers of the HTTP API as framework-free methods: a ``Request`` in, a ``Response`` out.

Each route of the table (``routes.py``) is answered by the method of ``Api`` of the route's name. Both adapters
(``fastapi_app``, ``flask_blueprints``) build the ``Request``, let ``admission`` admit it (token, cross-site,
body type and limit) and translate the ``Response``; no route logic lives in an adapter. Every error becomes the
one JSON error body (``errors.response_for``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

from .. import __version__, events
from ..errors import EntityNotFoundError, RecorderError, RunNotFoundError, ValidationError
from ..naming import PROCESS_DIRNAME, parse_entity_filename, validate_entity_type, validate_run_id
from ..runformat import find_entity
from ..stores import open_store
from ..stores.base import RunListing
from . import apidocs, research_export, sse
from .admission import admit
from .documents import Documents, status_body
from .errors import response_for
from .files import serve_entity
from .headers import etag_matches
from .pages import Pages
from .request import Request
from .research_writes import ResearchWrites
from .response import ByteStream, EventStream, Response, json_response
from .routes import ROUTES, Group, Route, url_for
from .runner_link import RunnerLink, outcome_answer
from .security import Guard
from .settings import Settings

Query = Mapping[str, str]
RESEARCH_FILTERS = ("kind", "session_id", "device_id", "tag")  # the research fields' listing filters


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
        self.store = open_store(settings.store or settings.base_path)
        self.documents = Documents(self.store)
        self.guard = Guard(settings)
        self.pages = Pages()
        self.runner = RunnerLink(settings)
        self.writes = ResearchWrites(self.store, max_entity_bytes=settings.max_entity_bytes,
                             lease_seconds=settings.lease_seconds)
        self._index: RunListing | None = None

    def close(self) -> None:
        """Stop the runner's workers and close the index (server shutdown)."""
        self.runner.close()
        self.writes.close()
        self.store.close()

    @staticmethod
    def answer(handler: Callable[[], Response]) -> Response:
        """Run a handler, turning any exception into the JSON error answer (never an unformatted 500)."""
        try:
            return handler()
        except Exception as exc:  # every error gets the one error body
            return response_for(exc)

    def handle(self, route: Route, request: Request) -> Response:
        """Admit the request to its route, then run the route's handler: what both adapters call."""
        refused = admit(self.guard, route, request)
        if refused is not None:
            return refused
        handler: Callable[[Request], Response] = getattr(self.writes if route.group is Group.WRITE else self,
                                                          route.name)
        try:
            return handler(request)
        except Exception as exc:  # every error gets the one error body, as in answer()
            return response_for(exc)

    # -- reading a run ---------------------------------------------------------------------------------------

    def status(self, request: Request) -> Response:
        """GET /api/pipeline/{run_id}/status[?since=REVISION]: the run's metadata.json, ETag, 304."""
        since = _int_param(request.query, "since", minimum=0)
        snapshot = self.documents.snapshot(request.path_params["run_id"])
        body, etag = status_body(snapshot, since)
        out = {"ETag": etag, "Cache-Control": "no-cache"}
        if etag_matches(request.headers.get("If-None-Match"), etag):
            return Response(304, out)
        return Response(200, {"Content-Type": "application/json", **out}, body)

    def entity(self, request: Request) -> Response:
        """GET /api/pipeline/{run_id}/entity/{entity_type}[?index=N]: the latest (or N-th) entity of a type."""
        run_id, entity_type = request.path_params["run_id"], request.path_params["entity_type"]
        validate_run_id(run_id)
        validate_entity_type(entity_type)
        index = _int_param(request.query, "index")
        doc = self.documents.snapshot(run_id).doc
        return serve_entity(self.store, run_id, find_entity(doc, entity_type, index), request.headers)

    def file(self, request: Request) -> Response:
        """GET /api/pipeline/{run_id}/file/{filename}: exactly the entity with that listed filename."""
        run_id, filename = request.path_params["run_id"], request.path_params["filename"]
        validate_run_id(run_id)
        if parse_entity_filename(filename) is None:
            raise ValidationError(f"filename {filename[:80]!r} is not an entity filename: expected "
                                  "'{sequence:02d}_{entity_type}.{ext}' as listed in the run's metadata")
        doc = self.documents.snapshot(run_id).doc
        for record in doc["entities"]:
            if record.get("filename") == filename:
                return serve_entity(self.store, run_id, record, request.headers)
        raise EntityNotFoundError(f"run {run_id!r} lists no file {filename!r}")

    def process_file(self, request: Request) -> Response:
        """GET /api/pipeline/{run_id}/process/{filename}: a step of the prompting process, as an entity is served."""
        run_id, filename = request.path_params["run_id"], request.path_params["filename"]
        validate_run_id(run_id)
        if parse_entity_filename(filename) is None:
            raise ValidationError(f"filename {filename[:80]!r} is not a step filename: expected "
                                  "'{sequence:03d}_{entity_type}.{ext}' as listed in the run's prompting_process")
        stored = f"{PROCESS_DIRNAME}/{filename}"
        for record in self.documents.snapshot(run_id).doc.get("prompting_process") or []:
            if isinstance(record, dict) and record.get("filename") == stored:
                return serve_entity(self.store, run_id, record, request.headers)
        raise EntityNotFoundError(f"run {run_id!r} lists no step {filename!r} in its prompting process")

    def entities(self, request: Request) -> Response:
        """GET /api/pipeline/{run_id}/entities: every entity record with its ``url`` and ``file_url``."""
        run_id, root = request.path_params["run_id"], request.root_path
        doc = self.documents.snapshot(run_id).doc
        listed = [{**record, "url": url_for("entity", root, run_id=run_id, entity_type=str(record["type"])),
                   "file_url": url_for("file", root, run_id=run_id, filename=str(record["filename"]))}
                  for record in doc["entities"]]
        return json_response(200, {"run_id": run_id, "entity_count": len(listed), "entities": listed},
                             {"Cache-Control": "no-cache"})

    def events(self, request: Request) -> Response:
        """GET /api/pipeline/{run_id}/events: Server-Sent Events, resumable with Last-Event-ID."""
        run_id = request.path_params["run_id"]
        last = events.parse_last_event_id(request.headers.get("Last-Event-ID")
                                          or request.query.get("last_event_id"))
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

    def runs(self, request: Request) -> Response:
        """GET /api/pipeline/runs: runs newest first, filtered, one page per cursor."""
        summaries, next_cursor = self.list_runs(request.query)
        return json_response(200, {"runs": summaries, "next_cursor": next_cursor}, {"Cache-Control": "no-cache"})

    def list_runs(self, query: Query) -> tuple[list[dict[str, Any]], str | None]:
        """The one place the listing comes from: the SQLite run index (rebuilt from the folders when needed)."""
        if self._index is None:
            self._index = self.store.run_index()
        # An empty parameter (a blank form field: ?status=) means no filter.
        filters = {name: query.get(name) or None for name in ("config_name", "user_id", "status", "since", "until",
                                                              "cursor", *RESEARCH_FILTERS)}
        limit = query.get("limit") or None
        return self._index.query(**filters, limit=50 if limit is None else limit)  # type: ignore[arg-type]

    def configs(self, request: Request) -> Response:
        """GET /api/schema/configs: the pipeline configs the runner knows."""
        return json_response(200, {"configs": self.runner.service().list_configs()})

    def execute(self, request: Request) -> Response:
        """POST /api/schema/pipeline/execute: start (or run to the end) a configured pipeline. Blocking."""
        status, answer = outcome_answer(self.runner.service().execute(request.json()), request.root_path)
        return json_response(status, answer)

    def cancel(self, request: Request) -> Response:
        """POST /api/pipeline/{run_id}/cancel: ask a running pipeline to stop."""
        run_id = request.path_params["run_id"]
        self.documents.check_run(run_id)
        return json_response(200, self.runner.service().cancel(run_id))

    def export(self, request: Request) -> Response:
        """GET /api/pipeline/{run_id}/export: the run as a zip, streamed."""
        run_id = request.path_params["run_id"]
        self.documents.snapshot(run_id)
        chunks = self.runner.zip_export(self.store, run_id)
        return Response(200, {"Content-Type": "application/zip", "Cache-Control": "no-store",
                              "Content-Disposition": f'attachment; filename="{run_id}.zip"'}, ByteStream(chunks))

    def research_export(self, request: Request) -> Response:
        """GET /api/pipeline/export: a selection of runs as a zip, CSV or Parquet download (research_export.py)."""
        return research_export.research_export(self.store, request)

    # -- the viewer and the API's description (FastAPI only) -------------------------------------------------

    def index_page(self, request: Request) -> Response:
        """GET /: the viewer's list of runs."""
        return self.pages.page("index.html")

    def run_page(self, request: Request) -> Response:
        """GET /runs/{run_id}: the viewer page of one run, or a 404 page saying there is no such run (a 200 would
        show an empty run)."""
        try:
            self.documents.check_run(request.path_params["run_id"])  # 400 for a malformed id, as the API answers
        except RunNotFoundError:
            return self.pages.page("no-run.html", status=404)
        return self.pages.page("run.html")

    def compare_page(self, request: Request) -> Response:
        """GET /compare?runs=ID,ID,...: the viewer page comparing runs (the page reads the ids and says what is
        wrong with them, so the page itself is always there)."""
        return self.pages.page("compare.html")

    def static(self, request: Request) -> Response:
        """GET /static/{path}: the viewer's scripts, styles and images."""
        return self.pages.static(request.path_params["path"])

    def openapi(self, request: Request) -> Response:
        """GET /openapi.json: the OpenAPI document of the routes of the table."""
        return Response(200, {"Content-Type": "application/json", "Cache-Control": "no-cache"},
                        apidocs.document_bytes(ROUTES, __version__))

    def api_docs(self, request: Request) -> Response:
        """GET /docs: the OpenAPI document as a page, served from the package (no script, nothing fetched)."""
        return apidocs.page(ROUTES, __version__, url_for("openapi", request.root_path))
