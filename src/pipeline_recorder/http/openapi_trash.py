"""What the OpenAPI document says about the trash routes (trash_routes.py), by route name, in the form of
``openapi.OPERATIONS`` (token and cross-site answers, 413 and 415 are added from each route's row)."""

from __future__ import annotations

from typing import Any

from .openapi import SUMMARY_SCHEMA

_ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, **_ERROR}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_MOVED = _json({"type": "object", "required": ["run_id", "in_trash"],
                "properties": {"run_id": {"type": "string"}, "in_trash": {"type": "boolean"}}}, "Done")
_SELECTION = {"type": "object", "required": ["run_ids"], "additionalProperties": False,
              "properties": {"run_ids": {"type": "array", "minItems": 1, "maxItems": 200,
                                         "items": {"type": "string"}}}}
_RESULTS = _json({"type": "object", "required": ["results"], "properties": {"results": {
    "type": "array", "items": {"type": "object", "required": ["run_id", "status"], "properties": {
        "run_id": {"type": "string"}, "status": {"type": "integer", "description": "What the run alone would have "
                                                  "been answered: 200 done, 404 unknown, 409 refused"},
        "error": {"type": "string"}}}}}}, "A result per run, in the order given (repeated ids once)")
_BAD = _error("Malformed run id or body")

TRASH_OPERATIONS: dict[str, dict[str, Any]] = {
    "trash": {
        "parameters": [],
        "responses": {"200": _json({"type": "object", "required": ["runs"], "properties": {"runs": {
            "type": "array", "items": {**SUMMARY_SCHEMA, "description": "A run's listing summary and trashed_at"}}}},
            "The runs in the trash, most recently deleted first")},
    },
    "delete_runs": {"parameters": [], "body_schema": _SELECTION, "responses": {"200": _RESULTS, "400": _BAD}},
    "restore_runs": {"parameters": [], "body_schema": _SELECTION, "responses": {"200": _RESULTS, "400": _BAD}},
    "delete_run": {
        "parameters": [],
        "responses": {"200": _MOVED, "400": _BAD, "404": _error("Unknown run (or already in the trash)"),
                      "409": _error("The run is still running, or unreadable, or the trash holds a run of its id")},
    },
    "restore_run": {
        "parameters": [],
        "body_schema": {"type": "object", "description": "Nothing is read from it; it may be left out"},
        "responses": {"200": _MOVED, "400": _BAD, "404": _error("No run of that id in the trash"),
                      "409": _error("A run of that id exists outside the trash")},
    },
}
