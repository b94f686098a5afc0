"""What the OpenAPI document says about the write routes (writes.py): bodies, headers and every answer."""

from __future__ import annotations

from typing import Any

from .openapi import ENTITY_CONTENT, STATUS_SCHEMA

_ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_WHY = {400: "Malformed id, type, body or header, or an Idempotency-Key used before for another request; "
             "nothing was stored", 401: "Token missing or wrong",
        403: "A cross-site request, or (without a token) a client not on the server's machine",
        404: "Unknown run", 409: "Other settings, an ended run, or the first call with this key still running",
        413: "Body larger than the limit; nothing was stored", 415: "Content-Type not accepted",
503: "The store refused the write"}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): {"description": _WHY[code], **_ERROR} for code in codes}


def _header(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": False, "schema": {"type": "string"}, "description": description}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_WRITE_HEADERS = [
    _header("Authorization", "'Bearer <token>': needed when the server has a token"),
    _header("Idempotency-Key", "1-255 visible ASCII characters (a UUID): a retry with the same key gets the "
                               "first answer and stores nothing new"),
    _header("Pipeline-Writer", "The writer's random id (1-64 letters, digits, '-', '_'): names its lease"),
]
_ENTITY_RECORD = {"type": "object", "required": ["sequence", "type", "filename", "size", "sha256", "mime_type"]}
_ENTITY_ANSWER = _json({"type": "object", "required": ["run_id", "entity"],
                        "properties": {"run_id": {"type": "string"}, "entity": _ENTITY_RECORD}},
                       "The entity was stored (or this is the answer to the first call with this key)")
_STRING = {"type": "string", "minLength": 1, "maxLength": 200}
CREATE_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["config_name", "execution_mode", "safety_level"],
    "properties": {"run_id": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$"},
                   "config_name": _STRING, "execution_mode": _STRING, "safety_level": _STRING, "user_id": _STRING,
                   "expected_outputs": {"type": "array", "items": {"type": "string"}}},
}
_CREATED = {"type": "object", "required": ["run_id", "created", "status", "lease_seconds"],
            "properties": {"run_id": {"type": "string"}, "created": {"type": "boolean"},
                           "status": {"type": "string"}, "lease_seconds": {"type": "number"}}}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


_RUN_WRITE_ERRORS = (400, 401, 403, 404, 409, 413, 415, 503)
WRITE_OPERATIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/api/pipeline/runs"): {
        "parameters": _WRITE_HEADERS, "requestBody": _body(CREATE_SCHEMA),
        "responses": {"201": _json(_CREATED, "The run was created"),
                      "200": _json(_CREATED, "The run exists with these settings: attached"),
                      **_errors(400, 401, 403, 409, 413, 415, 503)},
    },
    ("put", "/api/pipeline/{run_id}/state"): {
        "parameters": _WRITE_HEADERS,
        "requestBody": _body({"type": "object", "required": ["stage", "step"],
                              "properties": {"stage": {"type": "integer", "minimum": 0, "maximum": 99},
                                             "step": {"type": "string", "minLength": 1, "maxLength": 128}}}),
        "responses": {"200": _json({"type": "object", "required": ["run_id", "current_state"],
                                    "properties": {"current_state": STATUS_SCHEMA["properties"]["current_state"]}},
                                   "The run's new current_state"),
                      **_errors(*_RUN_WRITE_ERRORS)},
    },
    ("post", "/api/pipeline/{run_id}/entity/{entity_type}"): {
        "parameters": [
            *_WRITE_HEADERS,
            _header("Pipeline-Entity-Metadata", "The entity's metadata as a JSON object (non-ASCII escaped)"),
            {"name": "format", "in": "query", "required": False, "schema": {"type": "string"},
             "description": "The format of binary content whose bytes do not tell it (from the allow-list)"},
        ],
        "requestBody": {"required": True, "content": ENTITY_CONTENT},
        "responses": {"201": _ENTITY_ANSWER, **_errors(*_RUN_WRITE_ERRORS)},
    },
    ("post", "/api/pipeline/{run_id}/error"): {
        "parameters": _WRITE_HEADERS,
        "requestBody": _body({"type": "object", "required": ["stage", "error_type", "message"],
                              "properties": {"stage": {"type": "integer"}, "error_type": {"type": "string"},
                                             "message": {"type": "string"}, "details": {}}}),
        "responses": {"201": _ENTITY_ANSWER, **_errors(*_RUN_WRITE_ERRORS)},
    },
    ("post", "/api/pipeline/{run_id}/finish"): {
        "parameters": _WRITE_HEADERS,
        "requestBody": _body({"type": "object", "required": ["status"],
                              "properties": {"status": {"type": "string", "enum": ["completed", "failed", "blocked",
                                                                                   "cancelled"]},
                                             "reason": {"type": "string"}}}),
        "responses": {"200": _json({"type": "object", "required": ["run_id", "status"]}, "The run has ended"),
                      **_errors(*_RUN_WRITE_ERRORS)},
    },
    ("post", "/api/pipeline/{run_id}/lease"): {
        "parameters": _WRITE_HEADERS,
        "responses": {"200": _json({"type": "object", "required": ["run_id", "lease_seconds", "expires_at"]},
                                   "The writer's lease was renewed"),
                      **_errors(400, 401, 403, 404, 409, 503)},
    },
}
