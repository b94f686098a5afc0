"""The write routes of the HTTP API, for recorders on other machines (RemoteRecorder), as framework-free handlers.

| route | body | answer |
|---|---|---|
| ``POST /api/pipeline/runs`` | JSON settings | 201 created, 200 attached (same settings), 409 other settings |
| ``PUT /api/pipeline/{run_id}/state`` | ``{"stage", "step"}`` | 200 ``{"run_id", "current_state"}`` |
| ``POST /api/pipeline/{run_id}/entity/{entity_type}`` | the content, streamed | 201 ``{"run_id", "entity"}`` |
| ``POST /api/pipeline/{run_id}/error`` | ``{"stage", "error_type", "message", "details"?}`` | 201, as an entity |
| ``POST /api/pipeline/{run_id}/finish`` | ``{"status", "reason"?}`` | 200 ``{"run_id", "status"}`` |
| ``POST /api/pipeline/{run_id}/lease`` | none | 200 ``{"run_id", "lease_seconds", "expires_at"}`` |

Every write is admitted by the route table (``routes.Auth.WRITE``, ``admission.admit``) before its body is read: no
cross-site page, the token when the server has one, and without a token only clients on this machine (loopback);
content types and size limits per route (an entity body also below the server's ``max_entity_bytes``, checked here
against ``Content-Length`` first and then while reading). ``Idempotency-Key`` makes a write answer a retry with the
first answer (write_replays.py, over idempotency.py). ``Pipeline-Writer`` names the writer's lease in the store
(``Store.renew_lease``), renewed by its writes and heartbeats; the writer is recorded in the run by that id only
(leases.py). Entity metadata travels as JSON in the ``Pipeline-Entity-Metadata`` header. A RecorderError answer
names its class in ``Pipeline-Error`` so that a RemoteRecorder raises the same exception a local recorder would.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .. import runformat
from ..errors import RecorderError, RunFinishedError, RunNotFoundError, ValidationError
from ..idempotency import IdempotencyBusyError
from ..leases import lease_record, validate_lease_id, writing_as
from ..naming import new_run_id, validate_entity_type, validate_run_id
from ..recorder import LivePipelineRecorder
from ..registry import RecorderRegistry
from ..stores import Store
from ..stores.base import DEFAULT_LEASE_SECONDS
from .bodies import (
    METADATA_HEADER,
    entity_content,
    json_object,
    media_type,
    metadata_header,
    read_limited,
)
from .errors import BodyTooLargeError, error_response, response_for
from .request import Request
from .response import Response, json_response
from .write_replays import IDEMPOTENCY_HEADER, WRITER_HEADER, Replays, request_fingerprint, run_id_for_key

ERROR_CLASS_HEADER = "Pipeline-Error"
JSON_LIMIT = 1_000_000
DEFAULT_MAX_ENTITY_BYTES = 4 * 1024**3
ANONYMOUS_WRITER = "anonymous"
MAX_RENEWALS_KEPT = 10_000
# What a keyed write does once its request is checked: its status and answer, from the run's recorder, the checked
# JSON body (an upload: the entity type, the content and its metadata) and the Idempotency-Key's claim (None without).
JsonAct = Callable[[LivePipelineRecorder, dict[str, Any], Any], tuple[int, Any]]
UploadAct = Callable[[LivePipelineRecorder, str, Any, dict[str, Any], Any], tuple[int, Any]]
_CREATE_KEYS = {"run_id", "config_name", "execution_mode", "safety_level", "user_id", "expected_outputs",
                "kind", "session_id", "device_id"}  # the last three: the research fields (runfields.py)


class Writes:
    """The write handlers of one server."""

    def __init__(self, store: Store, *,
                 max_entity_bytes: int = DEFAULT_MAX_ENTITY_BYTES,
                 lease_seconds: float = DEFAULT_LEASE_SECONDS) -> None:
        self.store = store
        self.max_entity_bytes = max_entity_bytes
        self.lease_seconds = lease_seconds
        self._renewed: OrderedDict[tuple[str, str], float] = OrderedDict()  # (run, writer) -> when, monotonic
        self._renew_lock = threading.Lock()
        self.replays = Replays(store.idempotency())  # the store's records: any process of the store finds them
        # This server's own live recorders: two apps in one process never share them (nor the default registry
        # of get_recorder, which is the library's).
        self.registry = RecorderRegistry()

    def close(self) -> None:
        """Close what this server's recorders hold open (server shutdown)."""
        self.registry.clear()

    def _check_length(self, request: Request) -> None:
        """An entity body declared longer than the server takes is refused before a byte of it is read."""
        length = request.headers.get("Content-Length")
        if length is not None and length.strip().isdigit() and int(length) > self.max_entity_bytes:
            raise BodyTooLargeError(f"the entity ({int(length)} bytes) is larger than this server's limit of "
                                    f"{self.max_entity_bytes} bytes (PIPELINE_RECORDER_MAX_ENTITY_BYTES)")

    def _run(self, request: Request, handler: Callable[[], Response]) -> Response:
        """Run ``handler`` as the request's writer; every error becomes the JSON error answer."""
        try:
            writer = validate_lease_id(request.headers.get(WRITER_HEADER) or ANONYMOUS_WRITER)
            with writing_as(lease_record(writer)):
                return handler()
        except IdempotencyBusyError as exc:
            return error_response(409, str(exc), {"Retry-After": "1", ERROR_CLASS_HEADER: type(exc).__name__})
        except Exception as exc:
            answer = response_for(exc)
            if isinstance(exc, RecorderError):
                answer.headers[ERROR_CLASS_HEADER] = type(exc).__name__
            return answer

    def _run_folder(self, run_id: str) -> None:
        """RunNotFoundError unless the run is stored -- and, in a folder store, its folder is a real directory:
        a link planted in the store is not a run, and nobody writes through it."""
        folder = self.store.local_folder(validate_run_id(run_id))
        if folder is not None and os.path.lexists(folder) and (os.path.islink(folder) or not folder.is_dir()):
            raise RunNotFoundError(f"run {run_id!r} not found (its folder is a link or not a directory)")
        if not self.store.run_exists(run_id):
            raise RunNotFoundError(f"run {run_id!r} not found; create it first with POST /api/pipeline/runs")

    def _recorder(self, run_id: str, request: Request) -> LivePipelineRecorder:
        """The run's recorder; the writer's lease is renewed (the store's clock) when a third of it has passed."""
        self._run_folder(run_id)  # RunNotFoundError for a folder that is a link out of the store
        recorder = self.registry.load(validate_run_id(run_id), self.store)
        if recorder is None:
            raise RunNotFoundError(f"run {run_id!r} not found; create it first with POST /api/pipeline/runs")
        self._renew(run_id, validate_lease_id(request.headers.get(WRITER_HEADER) or ANONYMOUS_WRITER))
        return recorder

    def _renew(self, run_id: str, writer: str, force: bool = False) -> None:
        key, now = (run_id, writer), time.monotonic()
        with self._renew_lock:
            last = self._renewed.get(key)
            if not force and last is not None and now - last < self.lease_seconds / 3:
                return
        self.store.renew_lease(run_id, writer, self.lease_seconds)
        with self._renew_lock:
            self._renewed[key] = now
            self._renewed.move_to_end(key)
            while len(self._renewed) > MAX_RENEWALS_KEPT:
                self._renewed.popitem(last=False)

    # -- the routes ----------------------------------------------------------------------------------------------

    def create_run(self, request: Request) -> Response:
        """POST /api/pipeline/runs: create a run, or attach to it when it exists with the same settings."""

        def handle() -> Response:
            body = json_object(read_limited(request.body.chunks(), JSON_LIMIT), "config_name, execution_mode, "
                               "safety_level and optionally run_id, user_id, expected_outputs, kind, session_id, "
                               "device_id", _CREATE_KEYS)
            key = request.headers.get(IDEMPOTENCY_HEADER)
            # Without a run id, the key names the run: a retried creation lands on the same run.
            run_id = body.get("run_id") or (new_run_id() if key is None else run_id_for_key(key))
            if not isinstance(run_id, str):
                raise ValidationError("run_id must be a string")
            validate_run_id(run_id)
            settings: dict[str, Any] = {name: body.get(name) for name in ("config_name", "execution_mode",
                                                                          "safety_level")}
            folder = self.store.local_folder(run_id)
            if folder is not None and os.path.lexists(folder):
                self._run_folder(run_id)  # a link planted in the store is not a run: 404, nothing written
            existed = self.store.run_exists(run_id)
            recorder = LivePipelineRecorder(run_id, **settings,
                                            user_id=body.get("user_id", "anonymous"),
                                            base_path=self.store, expected_outputs=body.get("expected_outputs"),
                                            kind=body.get("kind"), session_id=body.get("session_id"),
                                            device_id=body.get("device_id"))
            self._renew(run_id, validate_lease_id(request.headers.get(WRITER_HEADER) or ANONYMOUS_WRITER), True)
            status = recorder.get_status()
            answer = {"run_id": run_id, "created": not existed, "status": status["status"],
                      "lease_seconds": self.lease_seconds}
            code = 200 if existed else 201
            return self.replays.answer(request, run_id, request_fingerprint("create", run_id, body),
                                    lambda _: (code, answer))

        return self._run(request, handle)

    def set_state(self, request: Request) -> Response:
        """PUT /api/pipeline/{run_id}/state: ``{"stage", "step"}``."""
        return self.status_write(request, "state", ("stage", "step"), LivePipelineRecorder.set_state, "current_state")

    def finish(self, request: Request) -> Response:
        """POST /api/pipeline/{run_id}/finish: ``{"status", "reason"?}``; the same end twice is no change."""

        def check(body: dict[str, Any]) -> None:
            if body.get("reason") is not None and not isinstance(body.get("reason"), str):
                raise ValidationError("reason must be a string")

        def act(recorder: LivePipelineRecorder, body: dict[str, Any], _: Any) -> tuple[int, Any]:
            recorder.finish(body.get("status"), body.get("reason"))  # type: ignore[arg-type]
            # The writer is done with the run (an ended run's liveness no longer matters).
            self.store.release_lease(recorder.run_id, validate_lease_id(request.headers.get(WRITER_HEADER)
                                                                        or ANONYMOUS_WRITER))
            return 200, {"run_id": recorder.run_id, "status": recorder.get_status()["status"]}

        return self.json_write(request, "finish", ("status", "reason"), act, check)

    def renew_lease(self, request: Request) -> Response:
        """POST /api/pipeline/{run_id}/lease: the writer of ``Pipeline-Writer`` still lives (a heartbeat): its
        lease in the store is renewed; the run's document is not touched."""
        run_id = request.path_params["run_id"]

        def handle() -> Response:
            self._run_folder(run_id)
            writer = validate_lease_id(request.headers.get(WRITER_HEADER) or ANONYMOUS_WRITER)
            read_limited(request.body.chunks(), JSON_LIMIT)
            status = self.store.read_metadata(run_id)["status"]
            if status in runformat.TERMINAL_STATUSES:
                raise RunFinishedError(f"run {run_id!r} has ended with status {status!r}; it has no lease to renew")
            self._renew(run_id, writer, force=True)
            ends = self.store.leases(run_id).get(writer)
            expires = datetime.fromtimestamp(ends, UTC).isoformat() if ends is not None else None
            return json_response(200, {"run_id": run_id, "lease_seconds": self.lease_seconds, "expires_at": expires})

        return self._run(request, handle)

    def save_error(self, request: Request) -> Response:
        """POST /api/pipeline/{run_id}/error: an ``error`` entity."""

        def act(recorder: LivePipelineRecorder, body: dict[str, Any], claim: Any) -> tuple[int, Any]:
            details = body.get("details")
            meta = {"stage": body.get("stage"), "error_type": body.get("error_type")}
            wanted = {"stage": body.get("stage"), "error_type": body.get("error_type"),
                      "message": body.get("message"), "details": details or {}}
            intent = self.replays.stopped_call(recorder, claim, request, "error", meta)
            if intent is not None and (found := self.replays.committed_error(recorder, intent, wanted)):
                return 201, {"run_id": recorder.run_id, "entity": found}
            with self.replays.committing(recorder, claim, request, "error", meta):
                filename = recorder.save_error(body.get("stage"), body.get("error_type"),  # type: ignore[arg-type]
                                               body.get("message"), details)  # type: ignore[arg-type]
            return 201, {"run_id": recorder.run_id, "entity": _record(recorder, "error", filename)}

        return self.json_write(request, "error", ("stage", "error_type", "message", "details"), act)

    def save_entity(self, request: Request) -> Response:
        """POST /api/pipeline/{run_id}/entity/{entity_type}: the body is the content, streamed to the store."""

        def save(recorder: LivePipelineRecorder, entity_type: str, content: Any, meta: dict[str, Any],
                 claim: Any) -> tuple[int, Any]:
            intent = self.replays.stopped_call(recorder, claim, request, entity_type, meta)
            if intent is not None:
                found = self.replays.committed_before(recorder, intent, content)
                if found is not None:
                    return 201, {"run_id": recorder.run_id, "entity": found}
            with self.replays.committing(recorder, claim, request, entity_type, meta):
                filename = recorder.save_entity(entity_type, content, meta)
            return 201, {"run_id": recorder.run_id, "entity": _record(recorder, entity_type, filename)}

        return self.upload_write(request, "entity", save)

    # -- what the keyed writes share -----------------------------------------------------------------------------

    def json_write(self, request: Request, route: str, fields: tuple[str, ...], act: JsonAct,
                   check: Callable[[dict[str, Any]], None] | None = None) -> Response:
        """A keyed write with a JSON body of ``fields`` to the run of the path: the run's recorder (the writer's
        lease renewed), the body read (at most JSON_LIMIT) and checked (``check``), then ``act(recorder, body,
        claim)`` run once per Idempotency-Key (fingerprint: ``route``, the run, the body)."""
        run_id = request.path_params["run_id"]

        def handle() -> Response:
            recorder = self._recorder(run_id, request)
            body = json_object(read_limited(request.body.chunks(), JSON_LIMIT), ", ".join(fields), set(fields))
            if check is not None:
                check(body)
            return self.replays.answer(request, run_id, request_fingerprint(route, run_id, body),
                                       lambda claim: act(recorder, body, claim))

        return self._run(request, handle)

    def status_write(self, request: Request, route: str, fields: tuple[str, ...], change: Callable[..., object],
                     shown: str) -> Response:
        """A keyed JSON write that calls ``change(recorder, *the body's fields in order)`` and answers 200 with the
        run's id and the field ``shown`` of its status (``set_state``: ``current_state``)."""

        def act(recorder: LivePipelineRecorder, body: dict[str, Any], _: Any) -> tuple[int, Any]:
            change(recorder, *(body.get(name) for name in fields))
            return 200, {"run_id": recorder.run_id, shown: recorder.get_status()[shown]}

        return self.json_write(request, route, fields, act)

    def upload_write(self, request: Request, route: str, save: UploadAct) -> Response:
        """A keyed write whose body is content (an entity, a step of the prompting process) for the run and type
        of the path: everything but the body checked first (``_upload``), then ``save(recorder, entity_type,
        content, metadata, claim)`` run once per Idempotency-Key with the content streamed from the body."""
        run_id, entity_type = request.path_params["run_id"], request.path_params["entity_type"]

        def handle() -> Response:
            recorder, meta, media, charset, fingerprint = self._upload(request, run_id, entity_type, route)

            def act(claim: Any) -> tuple[int, Any]:
                content = entity_content(request.body.chunks(), media, charset, self.max_entity_bytes)
                return save(recorder, entity_type, content, meta, claim)

            return self.replays.answer(request, run_id, fingerprint, act)

        return self._run(request, handle)

    def _upload(self, request: Request, run_id: str, entity_type: str, route: str) \
            -> tuple[LivePipelineRecorder, dict[str, Any], str, str | None, str]:
        """What a request that uploads content (an entity, a step of the prompting process) brings, checked before
        its body is read: the run's recorder, the metadata, the media type and charset, the fingerprint."""
        validate_entity_type(entity_type)
        self._check_length(request)
        recorder = self._recorder(run_id, request)
        meta = metadata_header(request.headers.get(METADATA_HEADER))
        if (fmt := request.query.get("format")) is not None:
            meta["format"] = fmt
        media, charset = media_type(request.headers)
        fingerprint = request_fingerprint(route, run_id, {"type": entity_type, "metadata": meta, "media": media})
        return recorder, meta, media, charset, fingerprint


def _record(recorder: LivePipelineRecorder, entity_type: str, filename: str) -> dict[str, Any]:
    record = recorder.entity_record(filename)
    if record is None:
        raise RunNotFoundError(f"entity {filename!r} vanished from run {recorder.run_id!r} right after it was saved")
    return record
