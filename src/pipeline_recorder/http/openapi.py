"""What the OpenAPI document says about each route: its query and header parameters and every answer it can give,
including ``text/event-stream`` for the events and binary bodies for entities. The FastAPI adapter writes these
into the document FastAPI generates, so the document matches what the framework-free handlers really answer."""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["error"], "properties": {"error": {"type": "string"}},
}
_ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _errors(*codes: int) -> dict[str, Any]:
    why = {400: "Malformed run id, type, filename or parameter", 401: "Token missing or wrong",
           403: "Forbidden", 404: "Unknown run, entity or file", 409: "The run's metadata.json cannot be read",
           413: "Body too large", 416: "Range not satisfiable", 429: "The runner's queue is full",
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
        "expected_outputs": {"type": "array"}, "completed_outputs": {"type": "array"},
    },
}
SUMMARY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["run_id", "config_name", "execution_mode", "safety_level", "user_id", "status", "timestamp",
                 "updated_at", "finished_at", "current_state", "progress", "entity_count"],
    "properties": {"run_id": {"type": "string"}, "status": {"type": "string"}, "entity_count": {"type": "integer"},
                   "finished_at": {"type": ["string", "null"]}},
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
        "user_id": {"type": "string"},
        "wait": {"type": "boolean", "description": "false: answer 202 at once instead of waiting for the end"},
    },
}
_AUTH = _header("Authorization", "'Bearer <token>' when the server has PIPELINE_RECORDER_TOKEN set")

# (method, path) -> {"parameters": [...extra...], "responses": {...}}
OPERATIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("get", "/api/pipeline/{run_id}/status"): {
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
    ("get", "/api/pipeline/{run_id}/entity/{entity_type}"): {
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
    ("get", "/api/pipeline/{run_id}/entities"): {
        "parameters": [],
        "responses": {"200": _json({"type": "object", "required": ["run_id", "entity_count", "entities"],
                                    "properties": {"run_id": {"type": "string"},
                                                   "entity_count": {"type": "integer"},
                                                   "entities": {"type": "array", "items": {
                                                       "type": "object", "required": ["url", "file_url"]}}}}),
                      **_errors(*_RUN_ERRORS)},
    },
    ("get", "/api/pipeline/{run_id}/events"): {
        "parameters": [_header("Last-Event-ID", "The id of the last event received: resume after it"),
                       _query("last_event_id", {"type": "integer", "minimum": 0},
                              "Same as the Last-Event-ID header, for clients that cannot set headers")],
        "responses": {"200": {"description": "Server-Sent Events: entity, state, status, then end; JSON data",
                              "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                      **_errors(*_RUN_ERRORS)},
    },
    ("get", "/api/pipeline/runs"): {
        "parameters": [
            _query("config_name", {"type": "string"}, "Only runs of this config"),
            _query("user_id", {"type": "string"}, "Only runs of this user"),
            _query("status", {"type": "string", "enum": ["running", "completed", "failed", "blocked", "cancelled",
                                                         "interrupted"]}, "Only runs with this status"),
            _query("since", {"type": "string", "format": "date-time"}, "Runs started at or after (ISO 8601)"),
            _query("until", {"type": "string", "format": "date-time"}, "Runs started before (ISO 8601)"),
            _query("cursor", {"type": "string"}, "next_cursor of the previous page"),
            _query("limit", {"type": "integer", "minimum": 1, "maximum": 200}, "Page size (default 50)"),
            _AUTH,
        ],
        "responses": {"200": _json({"type": "object", "required": ["runs", "next_cursor"],
                                    "properties": {"runs": {"type": "array", "items": SUMMARY_SCHEMA},
                                                   "next_cursor": {"type": ["string", "null"]}}}),
                      **_errors(400, 401)},
    },
    ("get", "/api/pipeline/{run_id}/file/{filename}"): {
        "parameters": [_header("Range", "One byte range"), _header("If-None-Match", "ETag")],
        "responses": {"200": {"description": "The entity file", "content": ENTITY_CONTENT,
                              "headers": _ENTITY_HEADERS},
                      "206": {"description": "The requested byte range", "content": ENTITY_CONTENT},
                      "304": {"description": "Not modified"},
                      **_errors(*_RUN_ERRORS, 416)},
    },
    ("get", "/api/pipeline/{run_id}/export"): {
        "parameters": [_AUTH],
        "responses": {"200": {"description": "The run as a zip archive",
                              "content": {"application/zip": _BINARY}},
                      **_errors(*_RUN_ERRORS, 401, 503)},
    },
    ("get", "/api/schema/configs"): {
        "parameters": [],
        "responses": {"200": _json({"type": "object", "required": ["configs"],
                                    "properties": {"configs": {"type": "array", "items": {"type": "object"}}}}),
                      **_errors(503)},
    },
    ("post", "/api/schema/pipeline/execute"): {
        "parameters": [_AUTH],
        "requestBody": {"required": True, "content": {"application/json": {"schema": EXECUTE_SCHEMA}}},
        "responses": {**_errors(400, 401, 404, 413, 429, 503),
                      "200": _json({"type": "object"}, "The run completed: status 'success', run_id, outputs"),
                      "202": _json({"type": "object"}, "Accepted ('wait': false): run_id and its URLs"),
                      "403": _json({"type": "object"}, "A safety check blocked the run (run_id, codes)"),
                      "409": _json({"type": "object"}, "The run was cancelled"),
                      "500": _json({"type": "object"}, "The pipeline failed (run_id, error, stage)"),
                      "502": _json({"type": "object"}, "A backend failed (run_id, error, stage)")},
    },
    ("post", "/api/pipeline/{run_id}/cancel"): {
        "parameters": [_AUTH],
        "responses": {"200": _RUNNER_JSON, **_errors(*_RUN_ERRORS, 401, 503)},
    },
    ("get", "/"): {"parameters": [], "responses": {"200": _HTML, **_errors(404)}},
    ("get", "/runs/{run_id}"): {"parameters": [], "responses": {"200": _HTML, **_errors(400),
                                                                "404": {**_HTML, "description": "No such run"}}},
    ("get", "/static/{path}"): {"parameters": [], "responses": {"200": _STATIC, **_errors(400, 404)}},
}


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """Write each route's parameters and answers into FastAPI's document (replacing its JSON-only guesses)."""
    document.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for (method, path), spec in OPERATIONS.items():
        operation = document.get("paths", {}).get(path, {}).get(method)
        if operation is None:
            continue
        operation["parameters"] = [p for p in operation.get("parameters", []) if p.get("in") == "path"]
        operation["parameters"] += spec["parameters"]
        operation["responses"] = spec["responses"]
        if "requestBody" in spec:
            operation["requestBody"] = spec["requestBody"]
        if not operation["parameters"]:
            del operation["parameters"]
    document["components"]["schemas"].pop("HTTPValidationError", None)
    document["components"]["schemas"].pop("ValidationError", None)
    return document
