"""The trash routes of the HTTP API, as framework-free handlers (the rules are ops/trash.py's):

| route | body | answer |
|---|---|---|
| ``DELETE /api/pipeline/{run_id}`` | none | 200 ``{"run_id", "in_trash": true}``; 404 unknown; 409 running |
| ``POST /api/pipeline/{run_id}/restore`` | none | 200 ``{"run_id", "in_trash": false}``; 404 not in the trash; 409 |
| ``POST /api/pipeline/runs/delete`` | ``{"run_ids": [...]}`` | 200 ``{"results": [{"run_id", "status", "error"?}]}`` |
| ``POST /api/pipeline/runs/restore`` | ``{"run_ids": [...]}`` | 200, a result per run as above |
| ``GET /api/pipeline/trash`` | | 200 ``{"runs": [summary + "trashed_at", ...]}`` |

Each is admitted by the route table first (``routes.Auth.WRITE``: the token when the server has one, else this
machine only; no cross-site page). A selection's result per run carries the status code the run alone would have
got, so one refused run never hides what became of the others.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import ValidationError
from ..naming import validate_run_id
from ..ops import trash
from ..stores.base import Store
from .bodies import json_object
from .errors import status_for
from .request import Request
from .response import Response, json_response


def selection(request: Request) -> list[str]:
    """The ``run_ids`` of a selection body: 1 to ``trash.MAX_SELECTION`` valid run ids."""
    body = json_object(request.body.read(), 'a "run_ids" list', {"run_ids"})
    run_ids = body.get("run_ids")
    if not isinstance(run_ids, list) or not run_ids or len(run_ids) > trash.MAX_SELECTION:
        raise ValidationError(f'"run_ids" must be a list of 1 to {trash.MAX_SELECTION} run ids')
    return [validate_run_id(run_id) for run_id in run_ids]


class TrashRoutes:
    """The trash's handlers of one server (its store)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def delete_run(self, request: Request) -> Response:
        """DELETE /api/pipeline/{run_id}: move the run to the trash."""
        run_id = validate_run_id(request.path_params["run_id"])
        trash.delete_run(self.store, run_id)
        return json_response(200, {"run_id": run_id, "in_trash": True})

    def restore_run(self, request: Request) -> Response:
        """POST /api/pipeline/{run_id}/restore: move the run back out of the trash."""
        run_id = validate_run_id(request.path_params["run_id"])
        trash.restore_run(self.store, run_id)
        return json_response(200, {"run_id": run_id, "in_trash": False})

    def delete_runs(self, request: Request) -> Response:
        """POST /api/pipeline/runs/delete: move a selection to the trash, a result per run."""
        return self._each(selection(request), lambda run_id: trash.delete_run(self.store, run_id))

    def restore_runs(self, request: Request) -> Response:
        """POST /api/pipeline/runs/restore: restore a selection, a result per run."""
        return self._each(selection(request), lambda run_id: trash.restore_run(self.store, run_id))

    def trash(self, request: Request) -> Response:
        """GET /api/pipeline/trash: the runs in the trash, most recently deleted first."""
        return json_response(200, {"runs": trash.trash_listing(self.store)}, {"Cache-Control": "no-cache"})

    @staticmethod
    def _each(run_ids: list[str], action: Callable[[str], None]) -> Response:
        results: list[dict[str, Any]] = []
        for outcome in trash.for_each(run_ids, action):
            if outcome.error is None:
                results.append({"run_id": outcome.run_id, "status": 200})
            else:
                results.append({"run_id": outcome.run_id, "status": status_for(outcome.error) or 500,
                                "error": str(outcome.error)})
        return json_response(200, {"results": results})
