"""The FastAPI adapter: routes that call the framework-free handlers and translate their ``Response``.

>>> app = create_app(Settings(base_path=Path("/srv/runs")))     # doctest: +SKIP
>>> uvicorn.run(app, host="127.0.0.1", port=17801)             # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.datastructures import Headers as StarletteHeaders
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response as StarletteResponse
from starlette.responses import StreamingResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..errors import RunNotFoundError
from . import openapi
from .errors import error_response
from .handlers import Api
from .response import ByteStream, EventStream, FileBody, Response
from .security import COMMON_HEADERS, Guard
from .settings import Settings

# Blocking runner calls (execute waits for a pipeline when asked to) get their own threads, so they can never
# starve the threads that serve files.
RUNNER_THREADS = 16


def to_starlette(response: Response) -> StarletteResponse:
    """The Starlette form of a handler's answer; files and feeds are streamed."""
    body = response.body
    if isinstance(body, bytes):
        return StarletteResponse(body, response.status, response.headers)
    if isinstance(body, FileBody):
        return StreamingResponse(body.chunks(), response.status, response.headers)
    if isinstance(body, EventStream):
        return StreamingResponse(body.open_async(), response.status, response.headers)
    if isinstance(body, ByteStream):
        return StreamingResponse(body.chunks, response.status, response.headers)
    raise TypeError(f"unknown body {type(body).__name__}")


_STATUS_PATH = re.compile(r"/api/pipeline/([^/]+)/status")


class GuardMiddleware:
    """Host allow-list, CORS and the headers every answer carries, for every route (errors and docs included).

    It also answers ``GET /api/pipeline/{run_id}/status`` itself, from the same handler as the FastAPI route: a
    frontend polls it every second per open run, and FastAPI's per-request routing and parameter solving would
    cost more than the handler (a cached stat-and-compare). The FastAPI route stays for the OpenAPI document.

    ``HEAD`` is answered for every route as ``GET`` would be, without the body (FastAPI routes declared with
    ``@app.get`` would answer 405): see ``_head_as_get``.
    """

    def __init__(self, app: ASGIApp, guard: Guard, api: Api | None = None) -> None:
        self.app = app
        self.guard = guard
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "HEAD":
            await _head_as_get(self, scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        origin = headers.get("origin")
        refused = self.guard.check_host(headers.get("host"))
        if refused is None and scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            refused = self.guard.preflight(origin)
        extra = {**COMMON_HEADERS, **self.guard.cors_headers(origin)}
        if refused is not None:
            refused.headers.update(extra)
            await to_starlette(refused)(scope, receive, send)
            return
        raw_extra = [(k.lower().encode(), v.encode()) for k, v in extra.items()]
        if self.api is not None and scope["method"] == "GET" and (match := _STATUS_PATH.fullmatch(scope["path"])):
            api, run_id = self.api, match.group(1)
            query = QueryParams(scope["query_string"])
            answer = api.answer(lambda: api.status(run_id, query, StarletteHeaders(scope=scope)))
            if isinstance(answer.body, bytes):
                start: Message = {"type": "http.response.start", "status": answer.status,
                                  "headers": [*_raw_headers(answer), *raw_extra]}
                await send(start)
                await send({"type": "http.response.body", "body": answer.body})
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name for name, _ in message["headers"]}
                message["headers"] = [*message["headers"], *[(k, v) for k, v in raw_extra if k not in present]]
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _head_as_get(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer a HEAD request with the status and headers (Content-Length included) that GET would get, and no body.

    The request is passed on as a GET; the body it produces is dropped. A streamed body (a media file, an SSE feed
    that would only end with its run, a zip export) is stopped as soon as the headers are out: the inner app is
    told that the client disconnected, the way an ASGI 2.3 server tells it (which is why spec_version says 2.3).
    """
    headers_sent = anyio.Event()
    first_receive = True

    async def head_receive() -> Message:
        nonlocal first_receive
        if first_receive:  # the (empty) request body
            first_receive = False
            return await receive()
        await headers_sent.wait()
        return {"type": "http.disconnect"}

    async def head_send(message: Message) -> None:
        if message["type"] == "http.response.start":
            if headers_sent.is_set():
                return
            await send(message)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            headers_sent.set()
        elif message["type"] != "http.response.body":
            await send(message)

    get_scope = {**scope, "method": "GET", "asgi": {**scope.get("asgi", {}), "spec_version": "2.3"}}
    await app(get_scope, head_receive, head_send)


def _raw_headers(response: Response) -> list[tuple[bytes, bytes]]:
    raw = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in response.headers.items()]
    if response.status not in (204, 304):
        raw.append((b"content-length", str(len(response.body)).encode()))  # type: ignore[arg-type]
    return raw


def create_app(settings: Settings | None = None) -> FastAPI:
    """The HTTP API as an ASGI app. ``settings`` default to ``Settings.from_env()``."""
    settings = settings if settings is not None else Settings.from_env()
    api = Api(settings)
    runner_threads = anyio.CapacityLimiter(RUNNER_THREADS)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await anyio.to_thread.run_sync(api.close)

    app = FastAPI(title="pipeline-recorder", version=__version__, lifespan=lifespan,
                  description="Recorded generative-pipeline runs: status, entities, live events, listing, runner.")
    app.state.api = api
    app.add_middleware(GuardMiddleware, guard=api.guard, api=api)

    async def in_thread(handler: Callable[[], Response], limiter: anyio.CapacityLimiter | None = None) \
            -> StarletteResponse:
        return to_starlette(await anyio.to_thread.run_sync(api.answer, handler, limiter=limiter))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> StarletteResponse:
        message = {404: "no such route; see /docs for the routes of this API",
                   405: "method not allowed on this route"}.get(exc.status_code, str(exc.detail))
        return to_starlette(error_response(exc.status_code, message))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> StarletteResponse:
        return to_starlette(error_response(400, f"malformed request: {exc.errors()[:1]}"))

    @app.get("/api/pipeline/runs", tags=["runs"])
    async def list_runs(request: Request) -> StarletteResponse:
        """Runs newest first; filters config_name, user_id, status, since, until; cursor; limit (1-200)."""
        return await in_thread(lambda: api.runs(request.query_params, request.headers))

    @app.get("/api/pipeline/{run_id}/status", tags=["runs"])
    async def status(run_id: str, request: Request) -> StarletteResponse:
        """The run's metadata.json, with an ETag (304 on If-None-Match); ?since=REVISION for changes only."""
        # Answered on the event loop: a cached stat-and-compare costs less than a hop to a thread.
        return to_starlette(api.answer(lambda: api.status(run_id, request.query_params, request.headers)))

    @app.get("/api/pipeline/{run_id}/entity/{entity_type}", tags=["entities"])
    async def entity(run_id: str, entity_type: str, request: Request) -> StarletteResponse:
        """The latest entity of a type (or ?index=N), with its MIME type; Range, ETag."""
        return await in_thread(lambda: api.entity(run_id, entity_type, request.query_params, request.headers))

    @app.get("/api/pipeline/{run_id}/file/{filename}", tags=["entities"])
    async def file(run_id: str, filename: str, request: Request) -> StarletteResponse:
        """Exactly the entity file of that name, as listed in the run's metadata."""
        return await in_thread(lambda: api.file(run_id, filename, request.headers))

    @app.get("/api/pipeline/{run_id}/entities", tags=["entities"])
    async def entities(run_id: str, request: Request) -> StarletteResponse:
        """Every entity record with its url (by type) and file_url (exactly this entity)."""
        root = request.scope.get("root_path", "")
        return await in_thread(lambda: api.entities(run_id, root))

    @app.get("/api/pipeline/{run_id}/events", tags=["runs"])
    async def run_events(run_id: str, request: Request) -> StarletteResponse:
        """Server-Sent Events: entity, state, status, end. Resume with Last-Event-ID."""
        return await in_thread(lambda: api.events(run_id, request.headers, request.query_params))

    @app.get("/api/pipeline/{run_id}/export", tags=["runs"])
    async def export(run_id: str, request: Request) -> StarletteResponse:
        """The run as a zip archive, streamed."""
        return await in_thread(lambda: api.export(run_id, request.headers))

    @app.get("/api/schema/configs", tags=["runner"])
    async def configs() -> StarletteResponse:
        """The pipeline configs the runner knows."""
        return await in_thread(api.configs, runner_threads)

    @app.post("/api/schema/pipeline/execute", tags=["runner"])
    async def execute(request: Request) -> StarletteResponse:
        """Run a configured pipeline; answers with status and run_id."""
        body = await request.body()
        return await in_thread(lambda: api.execute(body, request.headers), runner_threads)

    @app.post("/api/pipeline/{run_id}/cancel", tags=["runner"])
    async def cancel(run_id: str, request: Request) -> StarletteResponse:
        """Ask a running pipeline to stop."""
        return await in_thread(lambda: api.cancel(run_id, request.headers), runner_threads)

    @app.get("/", tags=["viewer"])
    async def index_page() -> StarletteResponse:
        """The viewer's list of runs."""
        return await in_thread(lambda: api.pages.page("index.html"))

    @app.get("/runs/{run_id}", tags=["viewer"])
    async def run_page(run_id: str) -> StarletteResponse:
        """The viewer page of one run."""
        return await in_thread(lambda: _run_page(api, run_id))

    @app.get("/static/{path:path}", tags=["viewer"])
    async def static(path: str) -> StarletteResponse:
        """The viewer's script, style and image files."""
        return await in_thread(lambda: api.pages.static(path))

    def custom_openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            document = get_openapi(title=app.title, version=app.version, description=app.description,
                                   routes=app.routes)
            app.openapi_schema = openapi.complete(document)
        return app.openapi_schema

    app.openapi = custom_openapi  # type: ignore[method-assign]
    return app


def _run_page(api: Api, run_id: str) -> Response:
    """The run's page, or a 404 page saying there is no such run (a 200 would show an empty run)."""
    try:
        api.documents.run_folder(run_id)  # 400 for a malformed id, as the API answers
    except RunNotFoundError:
        return api.pages.page("no-run.html", status=404)
    return api.pages.page("run.html")
