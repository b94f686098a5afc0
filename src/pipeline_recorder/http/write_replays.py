"""Idempotent writes: a write sent again with the same ``Idempotency-Key`` gets the first call's answer, and a
call stopped between its commit and its answer is not committed twice when retried.

The durable records of keys and answers live in the core (``idempotency.py``). Here is how a write route uses
them: ``answer`` runs a route's action once per key; ``stopped_call`` finds what a stopped earlier call with the
key meant to commit; ``committing`` marks a keyed entity's commit (in the writer's lease record, in the same
atomic replace of metadata.json, or as a durable intent for an anonymous writer); ``committed_before`` finds the
entity such a call committed, by its content.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import RecorderError
from ..idempotency import Claim, IdempotencyLedger, entity_committed
from ..leases import committed_key, lease_record, writing_as
from ..recorder import LivePipelineRecorder
from .bodies import LimitedReader
from .request import Request
from .response import Response, json_response

IDEMPOTENCY_HEADER = "Idempotency-Key"
WRITER_HEADER = "Pipeline-Writer"
REPLAYED_HEADER = "Idempotent-Replayed"


def request_fingerprint(route: str, run_id: str, body: Any) -> str:
    """What a keyed request asked for: a retry with the key must ask for the same."""
    text = json.dumps([route, run_id, body], sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def run_id_for_key(key: str) -> str:
    """The run a keyed creation without a run id makes: a retried creation lands on the same run."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "pipeline-recorder:idempotency:" + key))


class Replays:
    """The idempotency of one server's write routes."""

    def __init__(self, records: IdempotencyLedger) -> None:
        self.records = records  # the store's (Store.idempotency()): a retry through any of its processes finds them

    def answer(self, request: Request, run_id: str, fingerprint: str,
               act: Callable[[Any], tuple[int, Any]]) -> Response:
        """Run ``act(claim)`` once per Idempotency-Key (plainly when the request has none) and answer as it did."""
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is None:
            status, body = act(None)
            return json_response(status, body)
        with self.records.claim(run_id, key, fingerprint) as claim:
            if claim.answer is not None:
                return json_response(claim.answer.status, claim.answer.body, {REPLAYED_HEADER: "true"})
            status, body = act(claim)
            claim.finish(status, body)
            return json_response(status, body)

    @staticmethod
    def stopped_call(recorder: LivePipelineRecorder, claim: Claim | None, request: Request,
                     entity_type: str, meta: dict[str, Any]) -> dict[str, Any] | None:
        """What an earlier call with this key, stopped before it answered, meant to commit: its recorded intent,
        or (named writers) its key in the writer's lease record; None when no earlier call committed anything."""
        if claim is None:
            return None
        if claim.intent is not None:
            return claim.intent
        writer = request.headers.get(WRITER_HEADER)
        if writer is None:
            return None
        record = committed_key(recorder.writer_records(), writer)
        if record is None or record.get("key") != claim.digest:
            return None
        return {"after": record.get("after"), "type": entity_type, "metadata": meta}

    @staticmethod
    @contextlib.contextmanager
    def committing(recorder: LivePipelineRecorder, claim: Claim | None, request: Request,
                   entity_type: str, meta: dict[str, Any]) -> Iterator[None]:
        """Around the commit of a keyed entity: a named writer's lease record names the key, in the same atomic
        replace of metadata.json; an anonymous writer's call records a durable intent first."""
        if claim is None:
            yield
            return
        after = recorder.last_sequence()
        writer = request.headers.get(WRITER_HEADER)
        if writer is None:
            claim.begin({"after": after, "type": entity_type, "metadata": meta})
            yield
            return
        with writing_as(lease_record(writer, key=claim.digest, after=after)):
            yield

    @staticmethod
    def committed_before(recorder: LivePipelineRecorder, intent: dict[str, Any], content: Any) \
            -> dict[str, Any] | None:
        """The entity a stopped earlier call with this key committed, if it did; ``content`` is this retry's."""
        candidates = entity_committed(recorder.get_entities(str(intent.get("type"))), intent)
        if not candidates:
            return None
        if isinstance(content, LimitedReader):
            sha = content.hash_ahead(recorder.store.local_folder(recorder.run_id))
        elif isinstance(content, str):
            sha = hashlib.sha256(content.encode()).hexdigest()
        else:
            for record in candidates:
                if json_entity(recorder, record) == content:
                    return record
            return None
        return next((record for record in candidates if record.get("sha256") == sha), None)

    @staticmethod
    def committed_error(recorder: LivePipelineRecorder, intent: dict[str, Any], wanted: dict[str, Any]) \
            -> dict[str, Any] | None:
        """The ``error`` entity a stopped earlier call with this key committed with the fields ``wanted``."""
        for record in entity_committed(recorder.get_entities("error"), intent):
            value = json_entity(recorder, record)
            if isinstance(value, dict) and {key: value.get(key) for key in wanted} == wanted:
                return record
        return None


def json_entity(recorder: LivePipelineRecorder, record: dict[str, Any]) -> Any:
    """A stored JSON entity's value, read through the store (None when it cannot be read or parsed)."""
    try:
        entity = recorder.store.open_entity(recorder.run_id, record)
        with entity.file as f:
            return json.loads(f.read())
    except (RecorderError, OSError, ValueError):
        return None
