"""Reading a run's metadata.json for the HTTP layer through the store, cached by the store's version of the
document, so that a poll of an unchanged run costs what the store needs to tell "unchanged" (the folder store: an
``fstat`` and a small ``pread``, see document/version.py), and the ETag of ``/status``."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import runfields
from ..doccache import VersionCache
from ..document import ParsedRun, document_digest, parse_metadata_since, without_writers, without_writers_bytes
from ..errors import CorruptRunError, RunNotFoundError
from ..naming import METADATA_FILENAME, validate_run_id
from ..stores.base import Store

CACHE_SIZE = 256


@dataclass(frozen=True)
class Snapshot:
    """One version of a run's metadata.json: its bytes as stored, the parsed document and a digest of the bytes.

    ``parsed`` lets the next version be parsed from this one (document.parse_metadata_since); it holds ``raw`` and
    ``doc``, no copy. ``doc`` is read-only: its entity records are shared with the next version's."""

    raw: bytes
    doc: dict[str, Any]
    digest: str
    public: bytes  # ``raw`` without who writes the run (runformat.WRITER_KEYS), as /status serves it
    parsed: ParsedRun
    entity_hash: hashlib.blake2b | None  # of the entity fragments, so that the next digest hashes only the new ones
    liveness: Callable[[str, dict[str, Any]], dict[str, Any]]  # the store's

    def current(self) -> dict[str, Any]:
        """The document as a reader must see it now: a running run whose writers are gone reads as interrupted,
        and a run written before the research fields existed shows their defaults."""
        return self.liveness(str(self.doc["run_id"]), runfields.with_defaults(dict(self.doc)))


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
            digest, entity_hash = document_digest(parsed, before.parsed if before is not None else None,
                                                  before.entity_hash if before is not None else None)
            return Snapshot(raw, doc, digest, _public_bytes(parsed), parsed, entity_hash,
                            self.store.apply_liveness)

        return self._cache.load(run_id, lambda known: self.store.read_document(run_id, known), build)


def _public_bytes(parsed: ParsedRun) -> bytes:
    """What /status serves of a version: the stored bytes without who writes the run; for a run written before
    the research fields existed, the document with their defaults (serialised again: such runs are finished)."""
    if all(key in parsed.doc for key in runfields.KEYS):
        return without_writers_bytes(parsed)
    return json.dumps(runfields.with_defaults(without_writers(parsed.doc)), ensure_ascii=False).encode()


def status_body(snapshot: Snapshot, since: int | None) -> tuple[bytes, str]:
    """The /status body and its ETag: the stored bytes (without who writes the run) when nothing differs from
    what is stored. The ETag is the stored bytes' digest: the body is a function of them."""
    doc = snapshot.current()
    interrupted = doc["status"] != snapshot.doc["status"]
    tag = snapshot.digest + ("-i" if interrupted else "") + ("" if since is None else f"-s{since}")
    if since is None and not interrupted:
        return snapshot.public, f'"{tag}"'
    if since is not None:
        doc["entities"] = [e for e in doc["entities"] if not isinstance(e.get("revision"), int)
                           or e["revision"] > since]
    return json.dumps(without_writers(doc), ensure_ascii=False).encode(), f'"{tag}"'
