"""The Flask adapter: the routes of the table (``routes.py``) as two blueprints, for hosts that are Flask apps
(``pip install pipeline-recorder[flask]``). Same answers as the FastAPI app (SSE included), over the same handlers.

- ``pipeline_bp``: the read API (status, entity, file, entities, events, export, listing);
- ``runner_bp``: the runner's routes (configs, execute, cancel), for hosts that want pipelines run inside them;
- ``writes_bp``: the write routes (recording from other machines: docs/REMOTE.md), for hosts that take them;
- ``trash_bp``: deleting runs into the trash and restoring them (docs/HTTP.md), for hosts that offer it.

>>> from flask import Flask
>>> from pipeline_recorder.flask import pipeline_bp, runner_bp
>>> app = Flask(__name__)
>>> app.config["PIPELINE_RECORDER_SETTINGS"] = Settings(base_path=Path("/srv"))   # doctest: +SKIP
>>> app.register_blueprint(pipeline_bp)
>>> app.register_blueprint(runner_bp)                                             # only if wanted

Settings come from ``app.config["PIPELINE_RECORDER_SETTINGS"]`` (a ``pipeline_recorder.http.settings.Settings``)
or, when that is absent, from the ``PIPELINE_RECORDER_*`` environment variables. Each Flask app gets its own
handlers, made on its first request and shared by both blueprints. SSE needs a threaded server.

The blueprints' checks, headers and JSON errors apply to their own routes only; the host's pages and its own
errors (an ``abort(403)`` in a host view under ``/api/``) keep the host's answers. A request under the API's paths
that matches no route gets the API's JSON 404/405.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

from flask import Blueprint, Flask, current_app, request
from flask import Response as FlaskResponse
from flask.blueprints import BlueprintSetupState
from werkzeug.exceptions import ClientDisconnected, HTTPException, MethodNotAllowed, NotFound

from .errors import METHOD_NOT_ALLOWED, NO_SUCH_ROUTE, error_response
from .handlers import Api
from .request import EMPTY_BODY, READ_SIZE, Body, IncompleteBodyError, Request
from .response import ByteStream, EventStream, FileBody, Response
from .routes import Group, Route, in_groups
from .security import COMMON_HEADERS
from .settings import Settings

SETTINGS_KEY = "PIPELINE_RECORDER_SETTINGS"
EXTENSION_KEY = "pipeline_recorder"
_MOUNTS_KEY = "pipeline_recorder.mounts"  # where the blueprints are mounted, for the JSON 404 under them

pipeline_bp = Blueprint("pipeline_recorder", __name__)
runner_bp = Blueprint("pipeline_recorder_runner", __name__)
writes_bp = Blueprint("pipeline_recorder_writes", __name__)
trash_bp = Blueprint("pipeline_recorder_trash", __name__)
BLUEPRINTS = ((pipeline_bp, Group.READ), (runner_bp, Group.RUNNER), (writes_bp, Group.WRITE), (trash_bp, Group.TRASH))
_create_lock = threading.Lock()


def api_for(app: Flask) -> Api:
    """The handlers of this Flask app (created on first use from its config or the environment)."""
    api = app.extensions.get(EXTENSION_KEY)
    if api is None:
        with _create_lock:
            api = app.extensions.get(EXTENSION_KEY)
            if api is None:
                settings = app.config.get(SETTINGS_KEY)
                api = app.extensions[EXTENSION_KEY] = Api(settings if isinstance(settings, Settings)
                                                          else Settings.from_env())
    assert isinstance(api, Api)
    return api


def to_flask(response: Response) -> FlaskResponse:
    """The Flask form of a handler's answer; files and feeds are streamed."""
    body = response.body
    if isinstance(body, bytes):
        return FlaskResponse(body, response.status, response.headers)
    if isinstance(body, FileBody):
        return FlaskResponse(body.chunks(), response.status, response.headers, direct_passthrough=True)
    if isinstance(body, EventStream):
        return FlaskResponse(body.open_sync(), response.status, response.headers, direct_passthrough=True)
    if isinstance(body, ByteStream):
        return FlaskResponse(body.chunks, response.status, response.headers, direct_passthrough=True)
    raise TypeError(f"unknown body {type(body).__name__}")


def flask_rule(path: str) -> str:
    """A table path in Flask's syntax: '{run_id}' -> '<run_id>', '{path:path}' -> '<path:path>'."""
    return re.sub(r"{([a-z_]+)(?::path)?}", lambda m: f"<{'path:' if ':path' in m.group(0) else ''}{m.group(1)}>",
                  path)


def _stream_source() -> Callable[[], bytes]:
    stream = request.stream

    def next_piece() -> bytes:
        try:
            return stream.read(READ_SIZE)
        except ClientDisconnected:
            raise IncompleteBodyError("the client closed the connection before its request body was "
                                      "complete") from None

    return next_piece


def _request(route: Route, params: dict[str, str]) -> Request:
    body = Body(_stream_source(), route.body.max_bytes) if route.body is not None else EMPTY_BODY
    rule = request.url_rule.rule if request.url_rule is not None else ""
    mount = rule[: len(rule) - len(flask_rule(route.path))]  # the url_prefix the blueprint was registered with
    return Request(request.method, params, request.args, request.headers, body, request.remote_addr,
                   request.script_root + mount)


def _view(route: Route) -> Callable[..., FlaskResponse]:
    def view(**params: str) -> FlaskResponse:
        return to_flask(api_for(current_app).handle(route, _request(route, params)))

    view.__name__ = route.name
    return view


def _guard() -> FlaskResponse | None:
    guard = api_for(current_app).guard
    refused = guard.check_host(request.headers.get("Host"))
    if refused is None and request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        refused = guard.preflight(request.headers.get("Origin"))
    return to_flask(refused) if refused is not None else None


def _headers(response: FlaskResponse) -> FlaskResponse:
    for name, value in {**COMMON_HEADERS, **api_for(current_app).guard.cors_headers(
            request.headers.get("Origin"))}.items():
        response.headers.setdefault(name, value)
    return response


def _json_error(status: int, message: str) -> FlaskResponse:
    response = to_flask(error_response(status, message))
    for name, value in COMMON_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _blueprint_error(exc: HTTPException) -> FlaskResponse:
    """An HTTP error raised inside one of the blueprints' routes."""
    status = exc.code or 500
    return _json_error(status, {404: NO_SUCH_ROUTE, 405: METHOD_NOT_ALLOWED}.get(status,
                                                                                  exc.description or exc.name))


def _routing_error(exc: HTTPException) -> FlaskResponse | HTTPException:
    """404/405 from routing (no route matched, so no blueprint's handler runs): the API's JSON answer for paths
    under the API's own prefixes where a blueprint is mounted; anything else is the host's and is left alone."""
    if request.url_rule is not None:
        return exc  # raised by a view of the host app: its own answer
    path = request.path
    mounts: set[str] = current_app.extensions.get(_MOUNTS_KEY, set())
    if not any(path.startswith(mount + prefix) for mount in mounts for prefix in _API_PREFIXES):
        return exc
    return _blueprint_error(exc)


_API_PREFIXES = frozenset("/".join(route.path.split("/")[:3]) + "/" for route in in_groups(
    Group.READ, Group.RUNNER, Group.WRITE, Group.TRASH))


def _on_register(state: BlueprintSetupState) -> None:
    app = state.app
    app.extensions.setdefault(_MOUNTS_KEY, set()).add(state.url_prefix or "")
    for code, cls in ((404, NotFound), (405, MethodNotAllowed)):
        if cls not in app.error_handler_spec[None].get(code, {}):  # a host's own handler wins
            app.register_error_handler(cls, _routing_error)


for _blueprint, _group in BLUEPRINTS:
    for _route in in_groups(_group):
        _blueprint.add_url_rule(flask_rule(_route.path), _route.name, _view(_route), methods=[_route.method])
    _blueprint.before_request(_guard)
    _blueprint.after_request(_headers)
    _blueprint.register_error_handler(HTTPException, _blueprint_error)
    _blueprint.record(_on_register)
