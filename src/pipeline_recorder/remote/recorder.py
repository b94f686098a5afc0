"""RemoteRecorder: records a run into a recorder server over HTTP, through the interface of LivePipelineRecorder.

>>> rec = RemoteRecorder("http://recorder:17801", new_run_id(), "stillepost", "eco", "kids",
...                      token="...")                                              # doctest: +SKIP
>>> rec.save_entity("input", "Hello")                                                # doctest: +SKIP
'01_input.txt'

Arguments are checked as the local recorder checks them, and the same exceptions raised, before anything is sent.
Each write is one Operation with its own Idempotency-Key (transport.py), retried until the server answers. When
the server cannot be reached, the write goes to the spool (spool.py) and the call returns: the write is
acknowledged, durable on local disk; a background thread sends the spool, in order, once the server answers, and
every later write queues behind it so that the run keeps its order. The same thread renews the writer's lease (a
heartbeat) while the recorder lives, so that the server can tell a live writer from a dead one without its pid.

While writes are spooled, ``save_entity`` returns the filename the entity will get if no other writer adds
entities to the run meanwhile, and ``get_status`` shows the server's view (without what is still spooled).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .. import runfields, runformat
from ..content import Content, encode
from ..endings import RunEndings
from ..errors import InvalidContentError, RunFinishedError, ServerUnreachableError, ValidationError
from ..formats import JSON, SNIFF_BYTES, TEXT, detect_binary, normalize_format
from ..naming import entity_filename, validate_entity_type, validate_run_id
from ..validation import check_error, check_setting, check_stage, check_step, check_text, entity_metadata
from .research import RemoteResearchRecord
from .spool import RunSpool, default_spool_root
from .transport import DEFAULT_RETRY_SECONDS, Operation, Transport

log = logging.getLogger("pipeline_recorder.remote")

API = "/api/pipeline"
WRITER_HEADER = "Pipeline-Writer"
METADATA_HEADER = "Pipeline-Entity-Metadata"
DRAIN_ATTEMPT_SECONDS = 2.0
RECONNECT_MAX_SECONDS = 5.0


class RemoteRecorder(RemoteResearchRecord, RunEndings):
    """Records one run into the recorder server at ``server_url`` (``PIPELINE_RECORDER_SERVER``).

    ``token`` is the server's token (``PIPELINE_RECORDER_TOKEN``); ``spool_dir`` where writes wait while the server
    cannot be reached (default ``$PIPELINE_RECORDER_SPOOL`` or ``~/.cache/pipeline-recorder/spool``);
    ``retry_seconds`` how long one write is retried before it is spooled.
    """

    def __init__(
        self,
        server_url: str,
        run_id: str,
        config_name: str,
        execution_mode: str,
        safety_level: str,
        user_id: str = "anonymous",
        *,
        token: str | None = None,
        expected_outputs: Sequence[str] | None = None,
        spool_dir: str | os.PathLike[str] | None = None,
        retry_seconds: float = DEFAULT_RETRY_SECONDS,
        heartbeat: bool = True,
        kind: str | None = None,
        session_id: str | None = None,
        device_id: str | None = None,
        lazy: bool = False,
    ) -> None:
        settings = {"config_name": check_setting("config_name", config_name),
                    "execution_mode": check_setting("execution_mode", execution_mode),
                    "safety_level": check_setting("safety_level", safety_level),
                    "user_id": check_setting("user_id", user_id)}
        if isinstance(expected_outputs, str):
            raise ValidationError("expected_outputs must be a list of entity types, not a string")
        body: dict[str, Any] = {"run_id": validate_run_id(run_id), **settings,
                                **runfields.check_grouping(kind=kind, session_id=session_id, device_id=device_id)}
        if expected_outputs is not None:
            body["expected_outputs"] = [validate_entity_type(t) for t in expected_outputs]
        if not isinstance(server_url, str) or not server_url.startswith(("http://", "https://")):
            raise ValidationError(f"server_url must be an http:// or https:// URL, got {server_url!r:.80}")
        self.run_id = run_id
        self.server_url = server_url.rstrip("/")
        self.writer_id = uuid.uuid4().hex
        self._transport = Transport(self.server_url, token, retry_seconds=retry_seconds)
        self._spool = RunSpool(Path(spool_dir) if spool_dir is not None else default_spool_root(), run_id)
        self._lock = threading.RLock()  # one write at a time, so that the run keeps the caller's order
        self._spooling = len(self._spool) > 0  # writes left by an earlier recorder of this run go first
        self._lease_seconds = 30.0
        self._last_sequence = 0
        self._last_step = 0  # the prompting process's own sequence
        self._finished: str | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        # lazy: the run is created on the server by the first write (sent just before it); nothing is sent before.
        self._create: Operation | None = Operation("POST", f"{API}/runs", json=body)
        if not lazy:
            self._send_create()
        self._thread = threading.Thread(target=self._background, args=(heartbeat,), daemon=True,
                                        name=f"remote-recorder-{run_id[:8]}")
        self._thread.start()

    # -- sending ---------------------------------------------------------------------------------------------

    def _send_create(self) -> None:
        """Create (or attach to) the run on the server, once, before any other write of this recorder."""
        with self._lock:
            create, self._create = self._create, None
            if create is None:
                return
            answer = self._write(create)
        if isinstance(answer, dict) and isinstance(answer.get("lease_seconds"), int | float):
            self._lease_seconds = float(answer["lease_seconds"])

    def _write(self, op: Operation) -> Any:
        """Send ``op`` now, or spool it behind the writes already waiting; the server's answer, or None when it
        was spooled."""
        op.headers[WRITER_HEADER] = self.writer_id
        if self._create is not None and op.path != f"{API}/runs":
            self._send_create()  # a lazy recorder's first write: the run first
        with self._lock:
            if not self._spooling:
                try:
                    return self._transport.send(op)
                except ServerUnreachableError as exc:
                    log.warning("recorder server unreachable (%s); spooling the writes of run %s in %s",
                                exc, self.run_id, self._spool.folder)
            self._spool.append(self.server_url, op)
            self._spooling = True
            self._wake.set()
            return None

    def _background(self, heartbeat: bool) -> None:
        """Send the spool whenever it holds writes; renew the lease every third of its time otherwise."""
        pause = DRAIN_ATTEMPT_SECONDS / 4
        while not self._stop.is_set():
            if self._spooling:
                if self._drain_once():
                    pause = DRAIN_ATTEMPT_SECONDS / 4
                    continue
                self._stop.wait(pause)
                pause = min(pause * 2, RECONNECT_MAX_SECONDS)
                continue
            self._wake.clear()
            if (self._wake.wait(self._lease_seconds / 3) or not heartbeat or self._finished is not None
                    or self._create is not None):  # a lazy run not created yet has no lease
                continue
            try:
                self._transport.send(Operation("POST", f"{API}/{quote(self.run_id)}/lease",
                                               headers={WRITER_HEADER: self.writer_id}), retry_seconds=0)
            except Exception as exc:  # a missed heartbeat is not an error: the next write renews the lease
                log.debug("lease renewal of run %s failed: %s", self.run_id, exc)

    def _drain_once(self) -> bool:
        """Try to send the whole spool; True when it is empty afterwards."""
        try:
            with self._spool.sending() as held:
                if held:
                    _, rejected = self._spool.drain(self._transport, DRAIN_ATTEMPT_SECONDS)
                    for why in rejected:
                        log.error("the recorder server refused a spooled write of run %s (kept in %s): %s",
                                  self.run_id, self._spool.folder / "rejected", why)
        except ServerUnreachableError:
            return False
        except OSError:
            log.exception("the spool of run %s cannot be read", self.run_id)
            return False
        with self._lock:
            if len(self._spool) == 0:
                if self._spooling:
                    log.warning("recorder server reachable again: the spool of run %s is sent", self.run_id)
                self._spooling = False
                return True
        return False

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every spooled write has been sent (True), or ``timeout`` seconds have passed (False)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._spooling:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            self._wake.set()
            self._stop.wait(0.05)
        return True

    def close(self, timeout: float | None = 0) -> None:
        """Stop the heartbeat (after waiting up to ``timeout`` s for the spool to be sent; what is left stays
        in the spool for the next recorder of this run or ``pipeline-recorder sync``)."""
        if timeout != 0:
            self.flush(timeout)
        self._stop.set()
        self._wake.set()
        self._thread.join(5)
        self._transport.close()

    # -- the recorder's interface ------------------------------------------------------------------------------

    def _run_path(self, tail: str) -> str:
        return f"{API}/{quote(self.run_id, safe='')}/{tail}"

    def _check_open(self) -> None:
        if self._finished is not None:
            raise RunFinishedError(f"run {self.run_id!r} has ended with status {self._finished!r}; it takes no "
                                   "more changes")

    def set_state(self, stage: int, step: str) -> None:
        """Set the current stage and step."""
        check_stage(stage)
        check_step(step)
        self._check_open()
        self._write(Operation("PUT", self._run_path("state"), json={"stage": stage, "step": step}))

    def save_entity(self, entity_type: str, content: Content, metadata: dict[str, Any] | None = None) -> str:
        """Save one entity (str, dict/list, bytes, a path or a binary file object, streamed); its filename."""
        validate_entity_type(entity_type)
        answer, ext = self._upload(f"entity/{entity_type}", content, metadata)
        return self._filename(answer, entity_type, ext)

    def _upload(self, tail: str, content: Content, metadata: dict[str, Any] | None) -> tuple[Any, str]:
        """POST content to the run's ``tail`` route as the local recorder would encode it: (answer, extension)."""
        meta = entity_metadata(metadata)
        fmt = normalize_format(meta["format"]) if "format" in meta else None
        self._check_open()
        headers = {METADATA_HEADER: json.dumps(meta)} if meta else {}
        upload: Path | None = None
        encoded = encode(content, fmt)  # the local recorder's bytes and format (InvalidContentError)
        body: bytes | Path
        if encoded is not None:
            data, form = encoded
            if form is TEXT:
                body, headers["Content-Type"] = data, "text/plain; charset=utf-8"
            elif form is JSON:  # the server parses it and stores it exactly as the local recorder does
                body, headers["Content-Type"] = data, "application/json"
            else:
                body, headers["Content-Type"] = data, "application/octet-stream"
            ext = form.ext
        else:
            if isinstance(content, os.PathLike):
                body = Path(content)
            else:
                upload = body = self._copy_upload(content)
            try:
                with open(body, "rb") as f:
                    head = f.read(SNIFF_BYTES)
            except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
                raise InvalidContentError(f"cannot read content file {os.fspath(body)!r}: {exc.strerror}") from exc
            headers["Content-Type"], ext = "application/octet-stream", detect_binary(head, fmt).ext
        try:
            answer = self._write(Operation("POST", self._run_path(tail), content=body, headers=headers))
        finally:
            if upload is not None:
                upload.unlink(missing_ok=True)
        return answer, ext

    def _copy_upload(self, source: Any) -> Path:
        """A binary file object's content in a temp file, so that every retry (and the spool) can read it."""
        head = source.read(0)
        if not isinstance(head, bytes):
            raise InvalidContentError("a file object given as content must be opened in binary mode ('rb')")
        handle, name = tempfile.mkstemp(prefix=".upload-")
        with os.fdopen(handle, "wb") as out:
            shutil.copyfileobj(source, out, 1024 * 1024)
        return Path(name)

    def _filename(self, answer: Any, entity_type: str, ext: str) -> str:
        with self._lock:
            if isinstance(answer, dict) and isinstance(answer.get("entity"), dict):
                entity = answer["entity"]
                self._last_sequence = max(self._last_sequence, int(entity["sequence"]))
                return str(entity["filename"])
            self._last_sequence += 1  # spooled: the name it gets unless another writer adds entities meanwhile
            return entity_filename(self._last_sequence, entity_type, ext)

    def save_error(self, stage: int, error_type: str, message: str, details: dict[str, Any] | None = None) -> str:
        """Save an ``error`` entity (JSON) saying in which stage what went wrong."""
        check_error(stage, error_type, message)
        self._check_open()
        body = {"stage": stage, "error_type": error_type, "message": message, "details": details or {}}
        try:
            json.dumps(body, allow_nan=False).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise InvalidContentError(f"dict/list content must be JSON-serialisable: {exc}") from exc
        return self._filename(self._write(Operation("POST", self._run_path("error"), json=body)), "error", "json")

    def finish(self, status: str, reason: str | None = None) -> None:
        """End the run: completed, failed, blocked or cancelled (the same end twice is no change)."""
        if status not in runformat.TERMINAL_STATUSES:
            raise ValidationError(f"status {status!r} is not a terminal status; use one of "
                                  f"{sorted(runformat.TERMINAL_STATUSES)}")
        if self._finished == status:
            return
        self._check_open()
        if self._create is not None:  # lazy and nothing recorded yet: the server never hears of the run
            self._finished = status
            return
        body: dict[str, Any] = {"status": status}
        if reason is not None:
            body["reason"] = check_text("reason", str(reason)[:2000])
        self._write(Operation("POST", self._run_path("finish"), json=body))
        self._finished = status

    # -- reading -----------------------------------------------------------------------------------------------

    def get_status(self) -> dict[str, Any]:
        """The run's metadata as the server has it now. ServerUnreachableError when it cannot be asked."""
        status: dict[str, Any] = self._transport.get(self._run_path("status"))
        return runfields.with_defaults(status)

    def get_entities(self, entity_type: str | None = None) -> list[dict[str, Any]]:
        """The entity records on the server, in sequence order; only those of ``entity_type`` when given."""
        if entity_type is not None:
            validate_entity_type(entity_type)
        entities = self.get_status()["entities"]
        return [e for e in entities if entity_type is None or e["type"] == entity_type]

    def get_entity_path(self, entity_type: str) -> None:
        """Always None: the entities are on the server, not on this machine (see ``get_entity_url``)."""
        validate_entity_type(entity_type)
        return None

    def get_entity_url(self, entity_type: str) -> str:
        """The URL of the latest entity of ``entity_type`` on the server."""
        return f"{self.server_url}{self._run_path('entity/' + quote(validate_entity_type(entity_type)))}"

    def __enter__(self) -> RemoteRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RemoteRecorder(run_id={self.run_id!r}, server={self.server_url!r})"
