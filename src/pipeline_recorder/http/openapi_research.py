"""What the OpenAPI document says about the routes of the research record (models used, notes and tags), by
route name, in the form of ``openapi.OPERATIONS``; the shapes of the run fields they share with other routes."""

from __future__ import annotations

from typing import Any

from .. import runfields
from ..naming import RUN_ID_PATTERN

_ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_WHY = {400: "A malformed id or body, or a value outside what is accepted (the error says which); nothing was "
             "stored",
        404: "Unknown run", 409: "The run has ended (models) or another request holds the key", 503: "The store "
        "refused the write"}

GROUP_ID = {"type": ["string", "null"], "pattern": f"^{RUN_ID_PATTERN.pattern}$"}
KIND = {"type": "string", "pattern": f"^{runfields.KIND_PATTERN.pattern}$", "default": runfields.DEFAULT_KIND}
TAG = {"type": "string", "minLength": 1, "maxLength": runfields.MAX_TAG_LENGTH, "pattern": "^[^,]+$"}
TAGS = {"type": "array", "items": TAG, "maxItems": runfields.MAX_TAGS}
NOTES = {"type": "string", "maxLength": runfields.MAX_NOTES}
MODELS = {"type": "object", "additionalProperties": {"type": "string", "pattern": "^[a-z][a-z0-9_.-]*/.+$"},
          "description": "stage key -> 'backend/model'"}
# The run fields as the metadata and the listing summary hold them (old runs read with the defaults).
FIELDS: dict[str, Any] = {"kind": KIND, "session_id": GROUP_ID, "device_id": GROUP_ID, "models_used": MODELS,
                          "tags": TAGS, "notes": NOTES}
# The listing filters on them (query parameters of GET /api/pipeline/runs).
FILTERS = (
    ("kind", KIND, "Only runs of this kind (pipeline, or the name a host gave, e.g. canvas_workflow)"),
    ("session_id", {"type": "string"}, "Only runs of this session"),
    ("device_id", {"type": "string"}, "Only runs of this device"),
    ("tag", TAG, "Only runs carrying this tag"),
)


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): {"description": _WHY[code], **_ERROR} for code in codes}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_STEP_RECORD = {"type": "object", "required": ["sequence", "type", "filename", "size", "sha256", "mime_type"],
                "properties": {"filename": {"type": "string", "pattern": "^prompting_process/[0-9]{3,}_"}}}
_BINARY = {"schema": {"type": "string", "format": "binary"}}

RESEARCH_OPERATIONS: dict[str, dict[str, Any]] = {
    "save_process_step": {
        "parameters": [
            {"name": "Pipeline-Entity-Metadata", "in": "header", "required": False, "schema": {"type": "string"},
             "description": "The step's metadata as a JSON object (non-ASCII escaped)"},
            {"name": "format", "in": "query", "required": False, "schema": {"type": "string"},
             "description": "The format of binary content whose bytes do not tell it (from the allow-list)"},
        ],
        "body_content": {"text/plain": {"schema": {"type": "string"}}, "application/json": {"schema": {}},
                         "*/*": _BINARY},
        "responses": {"201": _json({"type": "object", "required": ["run_id", "step"],
                                    "properties": {"step": _STEP_RECORD}}, "The step was stored"),
                      **_errors(400, 404, 409, 503)},
    },
    "process_file": {
        "parameters": [{"name": "Range", "in": "header", "required": False, "schema": {"type": "string"},
                        "description": "One byte range"}],
        "responses": {"200": {"description": "The step's file with its MIME type, as an entity is served",
                              "content": {"*/*": _BINARY}},
                      "206": {"description": "The requested byte range", "content": {"*/*": _BINARY}},
                      "304": {"description": "Not modified"},
                      **_errors(400, 404)},
    },
    "set_model": {
        "parameters": [],
        "body_schema": {"type": "object", "required": ["stage_key", "model"],
                        "properties": {"stage_key": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,63}$"},
                                       "model": {"type": "string", "maxLength": runfields.MAX_MODEL_LENGTH}}},
        "responses": {"200": _json({"type": "object", "required": ["run_id", "models_used"],
                                    "properties": {"models_used": MODELS}}, "The run's models_used"),
                      **_errors(400, 404, 409, 503)},
    },
    "annotate": {
        "parameters": [],
        "body_schema": {"type": "object", "properties": {"notes": NOTES, "tags": TAGS},
                        "description": "What is given replaces what the run holds; what is left out is kept"},
        "responses": {"200": _json({"type": "object", "required": ["run_id", "notes", "tags"],
                                    "properties": {"notes": NOTES, "tags": TAGS}}, "The run's notes and tags now"),
                      **_errors(400, 404, 503)},
    },
}
