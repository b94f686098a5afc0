"""Erasure (``pipeline-recorder erase --user U`` / ``--device D``): delete for good everything a store knows of one
user or one device, and say so in the store's audit log without keeping who it was.

What is erased, all through the Store interface:

- every run whose ``user_id`` (or ``device_id``) is the one named, in place and in the trash, with all it holds
  (entities, metadata.json, helper files such as ``.thumbnails/``, leases, idempotency records);
- the store's own records of them: its index rows (``Store.compact`` rewrites what a deletion would leave readable
  in the index's free pages);
- with ``spool``: the spooled writes of those runs in a remote recorder's spool folder (remote/spool.py).

A run that is ``running`` with a live writer is not erased (it would be recreated or written under its writer);
it is reported, and a second erasure once it ended finishes the job. A run whose metadata cannot be read cannot be
attributed and is reported for a person to check (``verify``).

The audit entry (``Store.record_erasure``) says when, which kind of selector, a salted scrypt hash of its value
(so a person who knows the id can check that it was erased, ``selector_matches``, but the log does not reveal it),
and how many runs and bytes; never a run id, a text or the raw value.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import runformat
from ..errors import CorruptRunError, RunNotFoundError, ValidationError
from ..runformat import utc_now
from ..stores.base import Store
from ..stores.folder import remove_tree
from .retention import remove_run

SELECTORS = ("user_id", "device_id")
# scrypt's cost: ~50 ms per hash here, so trying a list of likely ids against the log is slow.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


@dataclass
class ErasurePlan:
    """What an erasure of ``selector == value`` deletes (a dry run prints it) and what it must leave."""

    selector: str
    value: str
    runs: list[str] = field(default_factory=list)
    trashed: list[str] = field(default_factory=list)
    spooled: list[Path] = field(default_factory=list)
    running: list[str] = field(default_factory=list)  # live runs of the selector, left until they end
    unreadable: list[str] = field(default_factory=list)  # runs nobody can attribute: a person checks them
    bytes: int = 0


def check_selector(selector: str, value: str) -> None:
    if selector not in SELECTORS:
        raise ValidationError(f"erase by one of {', '.join(SELECTORS)}, not {selector!r}")
    if not isinstance(value, str) or not value or len(value) > 256:
        raise ValidationError(f"the {selector} to erase must be 1 to 256 characters")


def _size(doc: dict[str, Any], document_bytes: int) -> int:
    return document_bytes + sum(int(e.get("size") or 0) for e in doc.get("entities", []) if isinstance(e, dict))


def plan_erasure(store: Store, selector: str, value: str, spool: Path | None = None) -> ErasurePlan:
    """Every run of the store (in place and in the trash) and every spooled run whose ``selector`` is ``value``."""
    check_selector(selector, value)
    plan = ErasurePlan(selector, value)
    for run_id in sorted(store.run_ids()):
        try:
            data = store.read_document_bytes(run_id)
            doc = store.read_metadata(run_id)
        except RunNotFoundError:
            continue
        except (CorruptRunError, OSError):
            plan.unreadable.append(run_id)
            continue
        if doc.get(selector) != value:
            continue
        if doc.get("status") == runformat.RUNNING:
            plan.running.append(run_id)
            continue
        plan.runs.append(run_id)
        plan.bytes += _size(doc, len(data))
    for trashed in store.trashed_runs():
        if trashed.doc is not None and trashed.doc.get(selector) == value:
            plan.trashed.append(trashed.run_id)
            plan.bytes += _size(trashed.doc, 0)
    plan.trashed.sort()
    if spool is not None:
        plan.spooled = spooled_of(spool, selector, value, {*plan.runs, *plan.trashed})
    return plan


def spooled_of(root: Path, selector: str, value: str, run_ids: Iterable[str]) -> list[Path]:
    """The spool folders (remote/spool.py) of the runs ``run_ids``, and of any run whose spooled creation names
    ``selector == value`` (a run the server never received)."""
    known = set(run_ids)
    found = []
    try:
        entries = sorted(os.scandir(root), key=lambda entry: entry.name)
    except FileNotFoundError:
        return []
    for entry in entries:
        if not entry.is_dir(follow_symlinks=False):
            continue
        if entry.name in known or _spooled_creation_matches(Path(entry.path), selector, value):
            found.append(Path(entry.path))
    return found


def _spooled_creation_matches(folder: Path, selector: str, value: str) -> bool:
    from ..remote.spool import CREATE_PATH, REJECTED_DIR

    for where in (folder, folder / REJECTED_DIR):
        with contextlib.suppress(OSError):
            for path in where.glob("*.json"):
                with contextlib.suppress(OSError, ValueError):
                    record = json.loads(path.read_bytes())
                    body = record.get("json") if isinstance(record, dict) else None
                    if record.get("path") == CREATE_PATH and isinstance(body, dict) and body.get(selector) == value:
                        return True
    return False


@dataclass
class ErasureResult:
    runs: int = 0
    trashed: int = 0
    spooled: int = 0
    left_running: list[str] = field(default_factory=list)
    audit: dict[str, Any] = field(default_factory=dict)


def erase(store: Store, plan: ErasurePlan) -> ErasureResult:
    """Carry out ``plan``: delete its runs, purge its trashed runs, remove its spool folders, compact the store's
    records, and append the audit entry."""
    result = ErasureResult(left_running=list(plan.running))
    for run_id in plan.runs:
        try:
            if remove_run(store, run_id):
                result.runs += 1
            else:
                result.left_running.append(run_id)  # it started running again meanwhile
        except RunNotFoundError:
            continue  # deleted meanwhile
    for run_id in plan.trashed:
        if store.purge_trashed(run_id):
            result.trashed += 1
    for folder in plan.spooled:
        remove_tree(folder)
        result.spooled += 1
    store.compact()
    result.audit = {"erased_at": utc_now(), "selector": plan.selector, "selector_hash": hash_selector(plan.value),
                    "runs": result.runs, "trashed_runs": result.trashed, "spooled_runs": result.spooled,
                    "bytes": plan.bytes, "left_running": len(result.left_running)}
    store.record_erasure(result.audit)
    return result


def hash_selector(value: str, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64) of the value: not reversible, slow to guess, checkable by who knows it."""
    salt = secrets.token_bytes(16) if salt is None else salt
    digest = hashlib.scrypt(value.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    encode = base64.urlsafe_b64encode
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${encode(salt).decode()}${encode(digest).decode()}"


def selector_matches(stored: str, value: str) -> bool:
    """Whether an audit entry's ``selector_hash`` is the hash of ``value``."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt" or not all(p.isdigit() for p in parts[1:4]):
        return False
    n, r, p = (int(x) for x in parts[1:4])
    salt, digest = base64.urlsafe_b64decode(parts[4]), base64.urlsafe_b64decode(parts[5])
    again = hashlib.scrypt(value.encode(), salt=salt, n=n, r=r, p=p, dklen=len(digest))
    return hmac.compare_digest(again, digest)
