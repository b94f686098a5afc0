"""How a writer on another machine is named in a run it records through a server.

A remote writer's liveness is a lease kept by the store (``Store.renew_lease`` / ``leases``: a run with leases is
judged by them, and reads ``interrupted`` when every lease has expired). The server writes the run for the writer,
so the server's own pid must not be recorded as the run's writer: inside ``writing_as(record)`` every change the
recorder makes in this thread names the writer's lease record instead, ``{"lease": id}`` -- the writer's own random
id, nothing about its process or machine.

The record may also name the last keyed write its writer committed (``key``: a digest of the write's
Idempotency-Key, ``after``: the run's last sequence before it), written in the same atomic replace of
metadata.json as the entity itself: a retry of a write whose answer was lost (a server killed right after the
commit) finds its key there and knows the entity was stored, at no extra cost per write. Later records of the same
writer carry these fields over (``carry_over``) until its next keyed write.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

from .errors import ValidationError

LEASE_KEY = "lease"
KEY_FIELDS = ("key", "after")
MAX_LEASE_ID = 64

_writing_as: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("lease_writer", default=None)


def validate_lease_id(lease_id: str) -> str:
    """A lease id is the writer's own random token: 1-64 characters of letters, digits, '-' and '_'."""
    if (not isinstance(lease_id, str) or not 0 < len(lease_id) <= MAX_LEASE_ID
            or not all(c.isascii() and (c.isalnum() or c in "-_") for c in lease_id)):
        raise ValidationError(f"writer id {str(lease_id)[:80]!r} must be 1-{MAX_LEASE_ID} letters, digits, "
                              "'-' or '_'")
    return lease_id


def lease_record(lease_id: str, *, key: str | None = None, after: int | None = None) -> dict[str, Any]:
    """The writer record of a remote writer, naming the keyed write it commits when ``key`` is given."""
    record: dict[str, Any] = {LEASE_KEY: validate_lease_id(lease_id)}
    if key is not None:
        record.update(key=key, after=after)
    return record


def is_lease(record: object) -> bool:
    return isinstance(record, dict) and LEASE_KEY in record


def same_writer(a: object, b: object) -> bool:
    """Two writer records name the same writer: equal, or records of the same lease."""
    if is_lease(a) and is_lease(b):
        return bool(a[LEASE_KEY] == b[LEASE_KEY])  # type: ignore[index]
    return a == b


def carry_over(previous: object, record: dict[str, Any]) -> dict[str, Any]:
    """``record``, a new record of a lease, with the keyed-write fields of the lease's ``previous`` record when it
    names none itself."""
    if not is_lease(record) or "key" in record or not isinstance(previous, dict) or "key" not in previous \
            or not is_lease(previous):
        return record
    return {**record, **{name: previous[name] for name in KEY_FIELDS if name in previous}}


def committed_key(writers: object, lease_id: str) -> dict[str, Any] | None:
    """The record of ``lease_id`` in a run's writer list, if any."""
    if isinstance(writers, list):
        for record in reversed(writers):
            if is_lease(record) and record[LEASE_KEY] == lease_id:
                return dict(record)
    return None


@contextlib.contextmanager
def writing_as(record: dict[str, Any]) -> Iterator[None]:
    """Within this block, changes made by this thread record ``record`` (a lease) as their writer."""
    token = _writing_as.set(record)
    try:
        yield
    finally:
        _writing_as.reset(token)


def current_lease() -> dict[str, Any] | None:
    """The lease record set by ``writing_as`` in this context, if any."""
    record = _writing_as.get()
    return dict(record) if record is not None else None
