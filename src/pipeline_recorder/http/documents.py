"""Reading a run's metadata.json for the HTTP layer through the store, cached by the store's version of the
document, so that a poll of an unchanged run costs what the store needs to tell "unchanged" (the folder store: an
``fstat`` and a small ``pread``, see fileversion.py), and the ETag of ``/status``."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..doccache import VersionCache
from ..errors import CorruptRunError, RunNotFoundError
from ..naming import METADATA_FILENAME, validate_run_id
from ..store import ParsedRun, parse_metadata_since
from ..stores.base import Store

CACHE_SIZE = 256


@dataclass(frozen=True)
class Snapshot:
    """One version of a run's metadata.json: its bytes as stored, the parsed document and a digest of the bytes.

    ``parsed`` lets the next version be parsed from this one (store.parse_metadata_since); it holds ``raw`` and
    ``doc``, no copy. ``doc`` is read-only: its entity records are shared with the next version's."""

    raw: bytes
    doc: dict[str, Any]
    digest: str
    parsed: ParsedRun
    entity_hash: hashlib.blake2b | None  # of the entity fragments, so that the next digest hashes only the new ones
    liveness: Callable[[str, dict[str, Any]], dict[str, Any]]  # the store's

    def current(self) -> dict[str, Any]:
        """The document as a reader must see it now: a running run whose writers are gone reads as interrupted."""
        return self.liveness(str(self.doc["run_id"]), dict(self.doc))


class Documents:
    """Cached access to the metadata of the runs of one store (thread-safe)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache: VersionCache[Snapshot] = VersionCache(CACHE_SIZE)

    def check_run(self, run_id: str) -> None:
        """RunNotFoundError unless the run is stored (InvalidRunIdError for a malformed id); its document is not
        read (a corrupt run is still a run)."""
        if not self.store.run_exists(validate_run_id(run_id)):
            raise RunNotFoundError(f"run {run_id!r} not found")

    def snapshot(self, run_id: str) -> Snapshot:
        """The run's metadata as stored now. RunNotFoundError, CorruptRunError."""
        validate_run_id(run_id)
        where = f"{self.store.location(run_id)}/{METADATA_FILENAME}"

        def build(raw: bytes, before: Snapshot | None) -> Snapshot:
            parsed = parse_metadata_since(raw, where, before.parsed if before is not None else None)
            doc = parsed.doc
            if doc.get("run_id") != run_id:
                raise CorruptRunError(f"run {run_id!r}: metadata.json names another run ({doc.get('run_id')!r})")
            digest, entity_hash = _digest(parsed, before)
            return Snapshot(raw, doc, digest, parsed, entity_hash, self.store.apply_liveness)

        return self._cache.load(run_id, lambda known: self.store.read_document(run_id, known), build)


def _digest(parsed: ParsedRun, before: Snapshot | None) -> tuple[str, hashlib.blake2b | None]:
    """A digest of the file's bytes (the ETag of /status) and the hash of its entity fragments.

    Hashing 3 MB costs ~3 ms, more than reading a changed run: when records were only appended, the hash of the
    fragments already known is extended with the new ones, and the digest covers the header, that hash and the end.
    The same bytes always give the same digest (the layout is found the same way whichever path parsed them)."""
    raw, start, end = memoryview(parsed.raw), parsed.start, parsed.end
    if start < 0:  # not in the writer's layout
        return hashlib.blake2b(raw, digest_size=12).hexdigest(), None
    if before is not None and before.entity_hash is not None and 0 < parsed.shared == len(before.doc["entities"]):
        # parse_metadata_since checked that the fragments known before begin the new ones, byte for byte.
        entity_hash = before.entity_hash.copy()
        entity_hash.update(raw[start + before.parsed.end - before.parsed.start:end])
    else:
        entity_hash = hashlib.blake2b(raw[start:end])
    outer = hashlib.blake2b(f"{start}:{len(raw) - end}:".encode(), digest_size=12)
    outer.update(raw[:start])
    outer.update(entity_hash.digest())
    outer.update(raw[end:])
    return outer.hexdigest(), entity_hash


def status_body(snapshot: Snapshot, since: int | None) -> tuple[bytes, str]:
    """The /status body and its ETag: the stored bytes unchanged when nothing differs from what is on disk."""
    doc = snapshot.current()
    interrupted = doc["status"] != snapshot.doc["status"]
    tag = snapshot.digest + ("-i" if interrupted else "") + ("" if since is None else f"-s{since}")
    if since is None and not interrupted:
        return snapshot.raw, f'"{tag}"'
    if since is not None:
        doc["entities"] = [e for e in doc["entities"] if not isinstance(e.get("revision"), int)
                           or e["revision"] > since]
    return json.dumps(doc, ensure_ascii=False).encode(), f'"{tag}"'
