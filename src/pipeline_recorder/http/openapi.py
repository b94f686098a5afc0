"""The OpenAPI document, built from the route table (``routes.py``): paths, methods, path parameters, the token
header, body types and limits come from each route's row; what only the document needs (query and header
parameters, every answer a route can give, including ``text/event-stream`` for the events and binary bodies for
entities) is in ``OPERATIONS``, by route name. So the document says what the framework-free handlers answer."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from . import openapi_research as research

if TYPE_CHECKING:
    from .routes import Route

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["error"], "properties": {"error": {"type": "string"}},
}
_ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _errors(*codes: int) -> dict[str, Any]:
    why = {400: "Malformed run id, type, filename or parameter", 401: "Token missing or wrong",
           403: "Forbidden", 404: "Unknown run, entity or file", 409: "The run's metadata.json cannot be read",
           413: "Body too large", 415: "Body of a type this route does not take",
           416: "Range not satisfiable", 429: "The runner's queue is full",
           501: "Not available", 502: "A backend failed", 503: "A needed part is not available"}
    return {str(code): {"description": why[code], **_ERROR} for code in codes}


_RUN_ERRORS = (400, 404, 409)
_BINARY = {"schema": {"type": "string", "format": "binary"}}
_ANY_JSON: dict[str, Any] = {"schema": {}}
ENTITY_CONTENT = {
    "text/plain": {"schema": {"type": "string"}},
    "application/json": _ANY_JSON,
    "image/*": _BINARY, "audio/*": _BINARY, "video/*": _BINARY,
    "application/octet-stream": _BINARY,
    "*/*": _BINARY,
}
_ENTITY_HEADERS = {name: {"schema": {"type": "string"}} for name in
                   ("ETag", "Last-Modified", "Accept-Ranges", "Content-Disposition", "Content-Security-Policy")}

STATUS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["run_id", "timestamp", "config_name", "execution_mode", "safety_level", "user_id",
                 "expected_outputs", "current_state", "completed_outputs", "entities", "status", "revision"],
    "properties": {
        "run_id": {"type": "string"}, "status": {"type": "string"}, "revision": {"type": "integer"},
        "current_state": {"type": "object"}, "entities": {"type": "array", "items": {"type": "object"}},
        "expected_outputs": {"type": "array"}, "completed_outputs": {"type": "array"}, **research.FIELDS,
    },
}
SUMMARY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["run_id", "config_name", "execution_mode", "safety_level", "user_id", "status", "timestamp",
                 "updated_at", "finished_at", "kind", "session_id", "device_id", "tags", "current_state", "progress",
                 "entity_count"],
    "properties": {"run_id": {"type": "string"}, "status": {"type": "string"}, "entity_count": {"type": "integer"},
                   "finished_at": {"type": ["string", "null"]}, "kind": research.KIND,
                   "session_id": research.GROUP_ID, "device_id": research.GROUP_ID, "tags": research.TAGS},
}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _header(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": False, "schema": {"type": "string"}, "description": description}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_HTML = {"description": "A viewer page", "content": {"text/html": {"schema": {"type": "string"}}}}
_STATIC = {"description": "A viewer file", "content": {"*/*": _BINARY}}
_RUNNER_JSON = _json({"type": "object"})
EXECUTE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["schema", "input_text", "execution_mode"],
    "properties": {
        "schema": {"type": "string", "description": "Name of a config listed by /api/schema/configs"},
        "input_text": {"type": "string"},
        "execution_mode": {"type": "string", "enum": ["eco", "fast"]},
        "safety_level": {"type": "string", "enum": ["kids", "youth", "adult", "off"]},
        "user_id": {"type": "string", "description": "who started the run: a user or a class"},
        "session_id": research.GROUP_ID, "device_id": research.GROUP_ID,
        "wait": {"type": "boolean", "description": "false: answer 202 at once instead of waiting for the end "
                 "(a waiting request gets 202 too after the runner's wait bound)"},
        "pace_ms": {"type": "integer", "minimum": 0, "maximum": 10000,
                    "description": "pause after each entity, so a run can be watched (default: the config's)"},
    },
}
_AUTH = _header("Authorization", "'Bearer <token>' when the server has PIPELINE_RECORDER_TOKEN set")
_CROSS_SITE = {"description": "Token missing on a write to a server without one from another machine, or a "
                              "request from a page of another site", **_ERROR}

# route name -> {"parameters": [...query and header...], "responses": {...}, "body_schema": {...}}
OPERATIONS: dict[str, dict[str, Any]] = {
    "status": {
        "parameters": [
            _query("since", {"type": "integer", "minimum": 0},
                   "Only entities with a revision above this one (the run's other fields are always whole)"),
            _header("If-None-Match", "The ETag of a previous answer: 304 when nothing changed"),
        ],
        "responses": {"200": {**_json(STATUS_SCHEMA, "The run's metadata.json"),
                              "headers": {"ETag": {"schema": {"type": "string"}}}},
                      "304": {"description": "Not modified since the ETag given in If-None-Match"},
                      **_errors(*_RUN_ERRORS)},
    },
    "entity": {
        "parameters": [
            _query("index", {"type": "integer"}, "0-based position among the entities of this type in sequence "
                   "order (negative counts from the end); default: the latest"),
            _header("Range", "One byte range, e.g. 'bytes=0-1023'"),
            _header("If-None-Match", "ETag (the entity's sha256): 304 when it matches"),
            _header("If-Range", "Serve the Range only if the entity still has this ETag"),
        ],
        "responses": {"200": {"description": "The entity's content with its MIME type", "content": ENTITY_CONTENT,
                              "headers": _ENTITY_HEADERS},
                      "206": {"description": "The requested byte range", "content": ENTITY_CONTENT,
                              "headers": {**_ENTITY_HEADERS, "Content-Range": {"schema": {"type": "string"}}}},
                      "304": {"description": "Not modified"},
                      **_errors(*_RUN_ERRORS, 416)},
    },
    "entities": {
        "parameters": [],
        "responses": {"200": _json({"type": "object", "required": ["run_id", "entity_count", "entities"],
                                    "properties": {"run_id": {"type": "string"},
                                                   "entity_count": {"type": "integer"},
                                                   "entities": {"type": "array", "items": {
                                                       "type": "object", "required": ["url", "file_url"]}}}}),
                      **_errors(*_RUN_ERRORS)},
    },
    "events": {
        "parameters": [_header("Last-Event-ID", "The id of the last event received: resume after it"),
                       _query("last_event_id", {"type": "integer", "minimum": 0},
                              "Same as the Last-Event-ID header, for clients that cannot set headers")],
        "responses": {"200": {"description": "Server-Sent Events: entity, state, status, then end; JSON data",
                              "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                      **_errors(*_RUN_ERRORS)},
    },
    "runs": {
        "parameters": [
            _query("config_name", {"type": "string"}, "Only runs of this config"),
            _query("user_id", {"type": "string"}, "Only runs of this user"),
            _query("status", {"type": "string", "enum": ["running", "completed", "failed", "blocked", "cancelled",
                                                         "interrupted"]}, "Only runs with this status"),
            _query("since", {"type": "string", "format": "date-time"}, "Runs started at or after (ISO 8601)"),
            _query("until", {"type": "string", "format": "date-time"}, "Runs started before (ISO 8601)"),
            *(_query(name, schema, description) for name, schema, description in research.FILTERS),
            _query("cursor", {"type": "string"}, "next_cursor of the previous page"),
            _query("limit", {"type": "integer", "minimum": 1, "maximum": 200}, "Page size (default 50)"),
        ],
        "responses": {"200": _json({"type": "object", "required": ["runs", "next_cursor"],
                                    "properties": {"runs": {"type": "array", "items": SUMMARY_SCHEMA},
                                                   "next_cursor": {"type": ["string", "null"]}}}),
                      **_errors(400)},
    },
    "file": {
        "parameters": [_header("Range", "One byte range"), _header("If-None-Match", "ETag")],
        "responses": {"200": {"description": "The entity file", "content": ENTITY_CONTENT,
                              "headers": _ENTITY_HEADERS},
                      "206": {"description": "The requested byte range", "content": ENTITY_CONTENT},
                      "304": {"description": "Not modified"},
                      **_errors(*_RUN_ERRORS, 416)},
    },
    "export": {
        "parameters": [],
        "responses": {"200": {"description": "The run as a zip archive",
                              "content": {"application/zip": _BINARY}},
                      **_errors(*_RUN_ERRORS, 503)},
    },
    # -- research exports (http/research_export.py) --
    "research_export": {
        "parameters": [
            _query("session_id", {"type": "string"}, "Only runs of this session"),
            _query("user_id", {"type": "string"}, "Only runs of this user"),
            _query("device_id", {"type": "string"}, "Only runs of this device"),
            _query("kind", {"type": "string"}, "Only runs of this kind"),
            _query("since", {"type": "string"}, "Runs started at or after (ISO 8601, or a duration ago: 2d)"),
            _query("until", {"type": "string"}, "Runs started before (ISO 8601, or a duration ago)"),
            _query("format", {"type": "string", "enum": ["zip", "csv", "parquet"], "default": "zip"},
                   "zip: the runs as an archive that import reads; csv, parquet: one row per entity"),
            _query("pseudonymise", {"type": "boolean", "default": False},
                   "Replace user and device ids by pseudonyms stable within this export only"),
            _query("no_text", {"type": "boolean", "default": False},
                   "Leave free text out (text and JSON entities, notes)"),
        ],
        "responses": {"200": {"description": "The export, streamed; at least one filter is required",
                              "headers": {"Content-Disposition": {"schema": {"type": "string"}}},
                              "content": {"application/zip": _BINARY, "text/csv": {"schema": {"type": "string"}},
                                          "application/vnd.apache.parquet": _BINARY}},
                      **_errors(400, 403, 404, 409, 503)},
    },
    "configs": {
        "parameters": [],
        "responses": {"200": _json({"type": "object", "required": ["configs"],
                                    "properties": {"configs": {"type": "array", "items": {"type": "object"}}}}),
                      **_errors(503)},
    },
    "execute": {
        "parameters": [],
        "body_schema": EXECUTE_SCHEMA,
        "responses": {**_errors(400, 404, 429, 503),
                      "200": _json({"type": "object"}, "The run completed: status 'success', run_id, outputs"),
                      "202": _json({"type": "object"}, "Accepted (not waited for or past the wait bound)"),
                      "403": _json({"type": "object"}, "A safety check blocked the run (run_id, codes)"),
                      "409": _json({"type": "object"}, "The run was cancelled"),
                      "500": _json({"type": "object"}, "The pipeline failed (run_id, error, stage)"),
                      "502": _json({"type": "object"}, "A backend failed (run_id, error, stage)")},
    },
    "cancel": {
        "parameters": [],
        "body_schema": {"type": "object", "description": "Nothing is read from it; it may be left out"},
        "responses": {"200": _RUNNER_JSON, **_errors(*_RUN_ERRORS, 503)},
    },
    "index_page": {"parameters": [], "responses": {"200": _HTML, **_errors(404)}},
    "run_page": {"parameters": [], "responses": {"200": _HTML, **_errors(400),
                                                 "404": {**_HTML, "description": "No such run"}}},
    "compare_page": {"parameters": [_query("runs", {"type": "string"}, "2 to 6 run ids, comma-separated, in the "
                                           "order of the page's columns; read by the page, not the server")],
                     "responses": {"200": _HTML, **_errors(404)}},
    "static": {"parameters": [], "responses": {"200": _STATIC, **_errors(400, 404)}},
}


def document(routes: Iterable[Route], version: str) -> dict[str, Any]:
    """The OpenAPI document of ``routes`` (those with ``in_schema``)."""
    from .openapi_writes import WRITE_OPERATIONS
    from .routes import Auth

    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        if not route.in_schema:
            continue
        spec = (OPERATIONS.get(route.name) or WRITE_OPERATIONS.get(route.name)
                or research.RESEARCH_OPERATIONS[route.name])
        parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                      for name in route.params]
        parameters += spec["parameters"]
        responses = dict(spec["responses"])
        if route.auth is not Auth.OPEN:
            parameters.append(_AUTH)
            responses.setdefault("401", _errors(401)["401"])
        if route.changes:
            responses.setdefault("403", _CROSS_SITE)
        operation: dict[str, Any] = {"tags": [route.tag], "summary": route.summary, "operationId": route.name}
        if parameters:
            operation["parameters"] = parameters
        if route.body is not None:
            schema = spec.get("body_schema", {})
            operation["requestBody"] = {
                "required": route.body.required,
                "description": f"At most {route.body.max_bytes} bytes",
                "content": spec.get("body_content") or {media: {"schema": schema}
                                                         for media in route.body.content_types}}
            responses.update(_errors(413, 415))
        operation["responses"] = responses
        paths.setdefault(route.path.replace(":path}", "}"), {})[route.method.lower()] = operation
    return {"openapi": "3.1.0",
            "info": {"title": "pipeline-recorder", "version": version,
                     "description": "Recorded generative-pipeline runs: status, entities, live events, listing, "
                                    "runner."},
            "paths": paths, "components": {"schemas": {"Error": ERROR_SCHEMA}}}
