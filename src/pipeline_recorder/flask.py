"""``pipeline_bp``: the HTTP API as a Flask blueprint, for hosts that are Flask apps (``pip install
pipeline-recorder[flask]``). Same routes and same answers as the FastAPI app (SSE included), over the same
framework-free handlers; the viewer pages are served by the FastAPI app only.

>>> from flask import Flask
>>> from pipeline_recorder.flask import pipeline_bp
>>> app = Flask(__name__)
>>> app.config["PIPELINE_RECORDER_SETTINGS"] = Settings(base_path=Path("/srv"))   # doctest: +SKIP
>>> app.register_blueprint(pipeline_bp)

Settings come from ``app.config["PIPELINE_RECORDER_SETTINGS"]`` (a ``pipeline_recorder.http.settings.Settings``)
or, when that is absent, from the ``PIPELINE_RECORDER_*`` environment variables. Each Flask app gets its own
handlers, made on its first request. SSE needs a threaded server (one thread per connected client).
"""

from __future__ import annotations

import threading

from flask import Blueprint, Flask, current_app, request, url_for
from flask import Response as FlaskResponse
from werkzeug.exceptions import HTTPException

from .http import write_routes
from .http.errors import error_response
from .http.handlers import Api
from .http.response import ByteStream, EventStream, FileBody, Response
from .http.security import COMMON_HEADERS
from .http.settings import Settings

SETTINGS_KEY = "PIPELINE_RECORDER_SETTINGS"
EXTENSION_KEY = "pipeline_recorder"
MAX_BODY = 1_000_000

pipeline_bp = Blueprint("pipeline_recorder", __name__)
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


def _api() -> Api:
    return api_for(current_app)


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


def _answer(handler: object) -> FlaskResponse:
    return to_flask(Api.answer(handler))  # type: ignore[arg-type]


@pipeline_bp.before_request
def _guard() -> FlaskResponse | None:
    guard = _api().guard
    refused = guard.check_host(request.headers.get("Host"))
    if refused is None and request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        refused = guard.preflight(request.headers.get("Origin"))
    return to_flask(refused) if refused is not None else None


@pipeline_bp.after_request
def _headers(response: FlaskResponse) -> FlaskResponse:
    for name, value in {**COMMON_HEADERS, **_api().guard.cors_headers(request.headers.get("Origin"))}.items():
        response.headers.setdefault(name, value)
    return response


@pipeline_bp.app_errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> FlaskResponse | HTTPException:
    # Only answers under this API get the JSON error body; the host app's own pages keep theirs.
    if not request.path.startswith("/api/"):
        return exc
    status = exc.code or 500
    message = {404: "no such route; see /docs of the FastAPI server for the routes of this API",
               405: "method not allowed on this route"}.get(status, exc.description or exc.name)
    response = to_flask(error_response(status, message))
    for name, value in COMMON_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _root() -> str:
    """Where the blueprint is mounted (script root and url_prefix), for the URLs in /entities."""
    probe = url_for("pipeline_recorder.entities", run_id="x")
    return probe[: -len("/api/pipeline/x/entities")]


@pipeline_bp.get("/api/pipeline/runs")
def runs() -> FlaskResponse:
    return _answer(lambda: _api().runs(request.args, request.headers))


@pipeline_bp.get("/api/pipeline/<run_id>/status")
def status(run_id: str) -> FlaskResponse:
    return _answer(lambda: _api().status(run_id, request.args, request.headers))


@pipeline_bp.get("/api/pipeline/<run_id>/entity/<entity_type>")
def entity(run_id: str, entity_type: str) -> FlaskResponse:
    return _answer(lambda: _api().entity(run_id, entity_type, request.args, request.headers))


@pipeline_bp.get("/api/pipeline/<run_id>/file/<filename>")
def file(run_id: str, filename: str) -> FlaskResponse:
    return _answer(lambda: _api().file(run_id, filename, request.headers))


@pipeline_bp.get("/api/pipeline/<run_id>/entities")
def entities(run_id: str) -> FlaskResponse:
    root = _root()
    return _answer(lambda: _api().entities(run_id, root))


@pipeline_bp.get("/api/pipeline/<run_id>/events")
def events(run_id: str) -> FlaskResponse:
    return _answer(lambda: _api().events(run_id, request.headers, request.args))


@pipeline_bp.get("/api/pipeline/<run_id>/export")
def export(run_id: str) -> FlaskResponse:
    return _answer(lambda: _api().export(run_id, request.headers))


@pipeline_bp.get("/api/schema/configs")
def configs() -> FlaskResponse:
    return _answer(lambda: _api().configs())


@pipeline_bp.post("/api/schema/pipeline/execute")
def execute() -> FlaskResponse:
    if (request.content_length or 0) > MAX_BODY:
        return to_flask(error_response(413, "the request body is larger than 1 MB"))
    body = request.get_data(cache=False)
    return _answer(lambda: _api().execute(body, request.headers))


@pipeline_bp.post("/api/pipeline/<run_id>/cancel")
def cancel(run_id: str) -> FlaskResponse:
    return _answer(lambda: _api().cancel(run_id, request.headers))


write_routes.add_to_flask(pipeline_bp, lambda: _api().writes, to_flask)
