"""What the OpenAPI document says about the write routes (writes.py), by route name, in the form of
``openapi.OPERATIONS``: header parameters, body schemas and every answer (token and cross-site answers, 413 and 415
are added from each route's row)."""

from __future__ import annotations

from typing import Any

from . import openapi_research as research
from .openapi import ENTITY_CONTENT, STATUS_SCHEMA

_ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_WHY = {400: "Malformed id, type, body or header, or an Idempotency-Key used before for another request; "
             "nothing was stored",
        404: "Unknown run", 409: "Other settings, an ended run, or the first call with this key still running",
        503: "The store refused the write"}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): {"description": _WHY[code], **_ERROR} for code in codes}


def _header(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": False, "schema": {"type": "string"}, "description": description}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_WRITE_HEADERS = [
    _header("Idempotency-Key", "1-255 visible ASCII characters (a UUID): a retry with the same key gets the "
                               "first answer and stores nothing new"),
    _header("Pipeline-Writer", "The writer's random id (1-64 letters, digits, '-', '_'): names its lease"),
]
_ENTITY_RECORD = {"type": "object", "required": ["sequence", "type", "filename", "size", "sha256", "mime_type"]}
_ENTITY_ANSWER = _json({"type": "object", "required": ["run_id", "entity"],
                        "properties": {"run_id": {"type": "string"}, "entity": _ENTITY_RECORD}},
                       "The entity was stored (or this is the answer to the first call with this key)")
_STRING = {"type": "string", "minLength": 1, "maxLength": 200}
_CREATED = {"type": "object", "required": ["run_id", "created", "status", "lease_seconds"],
            "properties": {"run_id": {"type": "string"}, "created": {"type": "boolean"},
                           "status": {"type": "string"}, "lease_seconds": {"type": "number"}}}
_RUN_WRITE_ERRORS = (400, 404, 409, 503)

WRITE_OPERATIONS: dict[str, dict[str, Any]] = {
    "create_run": {
        "parameters": _WRITE_HEADERS,
        "body_schema": {"type": "object", "required": ["config_name", "execution_mode", "safety_level"],
                        "properties": {"run_id": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$"},
                                       "config_name": _STRING, "execution_mode": _STRING, "safety_level": _STRING,
                                       "user_id": _STRING,
                                       "expected_outputs": {"type": "array", "items": {"type": "string"}},
                                       "kind": research.KIND, "session_id": research.GROUP_ID,
                                       "device_id": research.GROUP_ID}},
        "responses": {"201": _json(_CREATED, "The run was created"),
                      "200": _json(_CREATED, "The run exists with these settings: attached"),
                      **_errors(400, 409, 503)},
    },
    "set_state": {
        "parameters": _WRITE_HEADERS,
        "body_schema": {"type": "object", "required": ["stage", "step"],
                        "properties": {"stage": {"type": "integer", "minimum": 0, "maximum": 99},
                                       "step": {"type": "string", "minLength": 1, "maxLength": 128}}},
        "responses": {"200": _json({"type": "object", "required": ["run_id", "current_state"],
                                    "properties": {"current_state": STATUS_SCHEMA["properties"]["current_state"]}},
                                   "The run's new current_state"),
                      **_errors(*_RUN_WRITE_ERRORS)},
    },
    "save_entity": {
        "parameters": [
            *_WRITE_HEADERS,
            _header("Pipeline-Entity-Metadata", "The entity's metadata as a JSON object (non-ASCII escaped)"),
            {"name": "format", "in": "query", "required": False, "schema": {"type": "string"},
             "description": "The format of binary content whose bytes do not tell it (from the allow-list)"},
        ],
        "body_content": ENTITY_CONTENT,
        "responses": {"201": _ENTITY_ANSWER, **_errors(*_RUN_WRITE_ERRORS)},
    },
    "save_error": {
        "parameters": _WRITE_HEADERS,
        "body_schema": {"type": "object", "required": ["stage", "error_type", "message"],
                        "properties": {"stage": {"type": "integer"}, "error_type": {"type": "string"},
                                       "message": {"type": "string"}, "details": {}}},
        "responses": {"201": _ENTITY_ANSWER, **_errors(*_RUN_WRITE_ERRORS)},
    },
    "finish": {
        "parameters": _WRITE_HEADERS,
        "body_schema": {"type": "object", "required": ["status"],
                        "properties": {"status": {"type": "string",
                                                  "enum": ["completed", "failed", "blocked", "cancelled"]},
                                       "reason": {"type": "string"}}},
        "responses": {"200": _json({"type": "object", "required": ["run_id", "status"]}, "The run has ended"),
                      **_errors(*_RUN_WRITE_ERRORS)},
    },
    "renew_lease": {
        "parameters": _WRITE_HEADERS,
        "responses": {"200": _json({"type": "object", "required": ["run_id", "lease_seconds", "expires_at"]},
                                   "The writer's lease was renewed"),
                      **_errors(400, 404, 409, 503)},
    },
}
