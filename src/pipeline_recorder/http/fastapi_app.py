"""The FastAPI adapter: the routes of the table (``routes.py``) as an ASGI app; each builds a ``Request``, lets
``Api.handle`` admit and answer it on the route's pool of threads, and translates the ``Response``.

>>> app = create_app(Settings(base_path=Path("/srv/runs")))     # doctest: +SKIP
>>> uvicorn.run(app, host="127.0.0.1", port=17801)             # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
from fastapi import FastAPI
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request as StarletteRequest
from starlette.responses import Response as StarletteResponse
from starlette.responses import StreamingResponse
from starlette.routing import Route as StarletteRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from . import openapi
from .errors import METHOD_NOT_ALLOWED, NO_SUCH_ROUTE, error_response
from .handlers import Api
from .request import EMPTY_BODY, Body, HeaderMap, IncompleteBodyError, Request
from .response import ByteStream, EventStream, FileBody, Response
from .routes import POOL_THREADS, ROUTES, Pool, Route, match
from .security import COMMON_HEADERS
from .settings import Settings


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


_FAST = tuple(route for route in ROUTES if route.pool is Pool.LOOP)


def _route_path(scope: Scope) -> str:
    """The path below the app's mount point (root_path), as Starlette's router sees it."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def _request(scope: Scope, receive: Receive, params: dict[str, str], route: Route) -> Request:
    query_string = scope["query_string"]
    client = scope.get("client")
    body = Body(_body_source(receive), route.body.max_bytes) if route.body is not None else EMPTY_BODY
    return Request(scope["method"], params, QueryParams(query_string) if query_string else {},
                   HeaderMap(scope["headers"]), body, client[0] if client else None, scope.get("root_path", ""))


def _body_source(receive: Receive) -> Callable[[], bytes]:
    """The body's pieces for a handler in a worker thread: each is received on the event loop when asked for."""
    more = True

    def next_piece() -> bytes:
        nonlocal more
        while more:
            message: Message = anyio.from_thread.run(_receive_from, receive)
            if message["type"] == "http.disconnect":
                raise IncompleteBodyError("the client closed the connection before its request body was complete")
            more = bool(message.get("more_body", False))
            if piece := message.get("body", b""):
                return bytes(piece)
        return b""

    return next_piece


async def _receive_from(receive: Receive) -> Message:
    return await receive()


class GuardMiddleware:
    """Host allow-list, CORS and the headers every answer carries, for every route (errors and docs included).

    It also answers the routes the table runs on the event loop (``Pool.LOOP``: ``/status``) itself, through the
    same admission and handler as every route: a frontend polls ``/status`` every second per open run, and a pass
    through the framework's routing and middleware would cost more than the handler (a cached stat-and-compare).
    ``RecorderApp`` puts it in front of everything FastAPI does per request.

    ``HEAD`` is answered for every route as ``GET`` would be, without the body: see ``_head_as_get``.
    """

    def __init__(self, app: ASGIApp, api: Api) -> None:
        self.app = app
        self.guard = api.guard
        self.api = api
        self._common = [(name.lower().encode(), value.encode()) for name, value in COMMON_HEADERS.items()]
        self._hosts: dict[bytes, bool] = {}  # Host header -> allowed, for the Host values seen (bounded)

    def _host_allowed(self, host: bytes | None) -> Response | None:
        if host is not None and self._hosts.get(host):
            return None
        refused = self.guard.check_host(host.decode("latin-1") if host is not None else None)
        if refused is None and host is not None:
            if len(self._hosts) >= 256:
                self._hosts.clear()
            self._hosts[host] = True
        return refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method == "HEAD":
            await _head_as_get(self, scope, receive, send)
            return
        host = origin = preflight = None
        for name, value in scope["headers"]:  # ASGI servers give header names in lower case
            if name == b"host":
                host = value
            elif name == b"origin":
                origin = value.decode("latin-1")
            elif name == b"access-control-request-method":
                preflight = value
        refused = self._host_allowed(host)
        if refused is None and method == "OPTIONS" and preflight is not None:
            refused = self.guard.preflight(origin)
        cors = self.guard.cors_headers(origin) if origin is not None else {}
        if refused is not None:
            refused.headers.update({**COMMON_HEADERS, **cors})
            await to_starlette(refused)(scope, receive, send)
            return
        raw_extra = [*self._common, *[(k.lower().encode(), v.encode()) for k, v in cors.items()]]
        if found := match(method, _route_path(scope), _FAST):
            route, params = found
            answer = self.api.handle(route, _request(scope, receive, params, route))
            if isinstance(answer.body, bytes):
                await send({"type": "http.response.start", "status": answer.status,
                            "headers": [*_raw_headers(answer), *raw_extra]})
                await send({"type": "http.response.body", "body": answer.body})
                return
            answer.headers.update({**COMMON_HEADERS, **cors})
            await to_starlette(answer)(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name for name, _ in message["headers"]}
                message["headers"] = [*message["headers"], *[(k, v) for k, v in raw_extra if k not in present]]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RecorderApp(FastAPI):
    """The FastAPI app with ``GuardMiddleware`` in front of all of it: the host check covers every answer, and the
    fast path skips FastAPI's per-request work (telemetry checks, body-limit and error middleware)."""

    guard: GuardMiddleware

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.guard(scope, receive, send)


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
    """The HTTP API as an ASGI app: every route of the table. ``settings`` default to ``Settings.from_env()``."""
    settings = settings if settings is not None else Settings.from_env()
    api = Api(settings)
    # READS run on anyio's default threads; every other pool has threads of its own (see routes.Pool).
    limiters = {pool: anyio.CapacityLimiter(threads) for pool, threads in POOL_THREADS.items()}

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await anyio.to_thread.run_sync(api.close)

    app = RecorderApp(title="pipeline-recorder", version=__version__, lifespan=lifespan, openapi_url=None,
                      docs_url=None, redoc_url=None)
    app.state.api = api
    app.guard = GuardMiddleware(functools.partial(FastAPI.__call__, app), api)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: StarletteRequest, exc: StarletteHTTPException) -> StarletteResponse:
        message = {404: NO_SUCH_ROUTE, 405: METHOD_NOT_ALLOWED}.get(exc.status_code, str(exc.detail))
        return to_starlette(error_response(exc.status_code, message))

    def endpoint(route: Route) -> Callable[[StarletteRequest], Awaitable[StarletteResponse]]:
        limiter = limiters.get(route.pool)

        async def answer(request: StarletteRequest) -> StarletteResponse:
            call = _request(request.scope, request.receive, request.path_params, route)
            if route.pool is Pool.LOOP:
                return to_starlette(api.handle(route, call))
            return to_starlette(await anyio.to_thread.run_sync(api.handle, route, call, limiter=limiter))

        return answer

    for route in ROUTES:
        app.router.routes.append(StarletteRoute(route.path, endpoint(route), methods=[route.method],
                                                name=route.name, include_in_schema=False))
    document = openapi.document(ROUTES, __version__)
    app.openapi = lambda: document  # type: ignore[method-assign]
    return app
