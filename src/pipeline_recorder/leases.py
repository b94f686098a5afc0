"""Leases: how a writer on another machine says that it still lives, without the reader knowing its pid or host.

A remote writer records through a server; the server writes the run for it, so the server's own pid would say
nothing about the writer. Instead the server records the writer as a lease, ``{"lease": id, "expires_at": ISO}``,
in the run's writer list (where local writers have their pid record, see liveness.py), and renews it on every
write of that writer and on its heartbeats. The expiry is set by the server's clock; a reader judges it with its own
clock (readers of a folder store run on the server's machine). A lease record holds nothing but the writer's
random id and the expiry.

Inside ``writing_as(record)`` every change the recorder makes in this thread names that lease as its writer.

A lease record may also name the last keyed write its writer committed (``key``: a digest of the write's
Idempotency-Key, ``after``: the run's last sequence before it), written in the same atomic replace of
metadata.json as the entity itself: a retry of a write whose answer was lost (a server killed right after the
commit) finds its key there and knows the entity was stored, at no extra cost per write. Later records of the same
writer carry these fields over (``carry_over``) until its next keyed write.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from .errors import ValidationError

DEFAULT_LEASE_SECONDS = 30.0
LEASE_KEY = "lease"
EXPIRES_KEY = "expires_at"
MAX_LEASE_ID = 64

_writing_as: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("lease_writer", default=None)


def validate_lease_id(lease_id: str) -> str:
    """A lease id is the writer's own random token: 1-64 characters of letters, digits, '-' and '_'."""
    if (not isinstance(lease_id, str) or not 0 < len(lease_id) <= MAX_LEASE_ID
            or not all(c.isascii() and (c.isalnum() or c in "-_") for c in lease_id)):
        raise ValidationError(f"writer id {str(lease_id)[:80]!r} must be 1-{MAX_LEASE_ID} letters, digits, "
                              "'-' or '_'")
    return lease_id


KEY_FIELDS = ("key", "after")


def lease_record(lease_id: str, seconds: float, now: datetime | None = None, *, key: str | None = None,
                 after: int | None = None) -> dict[str, Any]:
    """The writer record of a lease that expires ``seconds`` from ``now`` (the server's clock), naming the keyed
    write it commits when ``key`` is given."""
    moment = now if now is not None else datetime.now(UTC)
    record: dict[str, Any] = {LEASE_KEY: validate_lease_id(lease_id),
                              EXPIRES_KEY: (moment + timedelta(seconds=seconds)).isoformat()}
    if key is not None:
        record.update(key=key, after=after)
    return record


def carry_over(previous: object, record: dict[str, Any]) -> dict[str, Any]:
    """``record``, a new record of a lease, with the keyed-write fields of the lease's ``previous`` record when it
    names none itself."""
    if not is_lease(record) or "key" in record or not isinstance(previous, dict) or "key" not in previous \
            or not is_lease(previous):
        return record
    return {**record, **{name: previous[name] for name in KEY_FIELDS if name in previous}}


def committed_key(writers: object, lease_id: str) -> dict[str, Any] | None:
    """The lease record of ``lease_id`` in a run's writer list, if any."""
    if isinstance(writers, list):
        for record in reversed(writers):
            if is_lease(record) and record[LEASE_KEY] == lease_id:
                return dict(record)
    return None


def is_lease(record: object) -> bool:
    return isinstance(record, dict) and LEASE_KEY in record


def same_writer(a: object, b: object) -> bool:
    """Two writer records name the same writer: equal, or leases with the same id (a renewal)."""
    if is_lease(a) and is_lease(b):
        return bool(a[LEASE_KEY] == b[LEASE_KEY])  # type: ignore[index]
    return a == b


def lease_alive(record: dict[str, Any], now: datetime | None = None) -> bool:
    """Whether a lease has not expired yet; a lease whose expiry cannot be read counts as alive (never guess
    a writer dead)."""
    try:
        expires = datetime.fromisoformat(str(record.get(EXPIRES_KEY)))
    except ValueError:
        return True
    if expires.tzinfo is None:
        return True
    return (now if now is not None else datetime.now(UTC)) < expires


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
