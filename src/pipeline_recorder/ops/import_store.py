"""Placing the runs of a checked export archive into a store without local folders (the shared store), through
the Store interface alone; ``importing.py`` checks the archive first and places runs into folder stores itself.

Each run is created with its settings (no entities yet), every entity is streamed from the archive into the store
(``stage_entity``) and its size and sha256 compared with the manifest's, and then one transaction of the run places
them all and makes the archive's document the run's. If anything fails -- a tampered member, a run that appeared
meanwhile, the store -- the runs this import created are deleted again, so a refused import leaves the store as it
was (the folder store's import is atomic by renames; here a run is visible, without entities, while it is filled).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

from ..document import MetadataDocument, parse_metadata
from ..errors import ArchiveRefusedError, RecorderError, RunExistsError
from ..naming import METADATA_FILENAME
from ..stores.base import StagedEntity, Store


class _AtMost(io.RawIOBase):
    """At most ``limit`` bytes of a stream: a member that keeps going past its size is cut, then refused."""

    def __init__(self, stream: BinaryIO, limit: int) -> None:
        super().__init__()
        self._stream, self._left = stream, limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._left <= 0:
            return 0
        data = self._stream.read(min(len(buffer), self._left))
        buffer[:len(data)] = data
        self._left -= len(data)
        return len(data)


def place_runs(store: Store, run_ids: Iterable[str], documents: dict[str, bytes], listed: dict[str, tuple[int, str]],
               files: Iterator[tuple[str, BinaryIO]]) -> None:
    """Import the checked runs: ``documents`` holds each run's metadata.json, ``listed`` every member's size and
    sha256 from the manifest, ``files`` yields the archive's members in order. ArchiveRefusedError,
    RunExistsError; nothing stays in the store then."""
    ids = sorted(run_ids)
    docs = {run_id: parse_metadata(documents[f"{run_id}/{METADATA_FILENAME}"], f"{run_id}/{METADATA_FILENAME}")
            for run_id in ids}
    for run_id in ids:
        if store.run_exists(run_id):
            raise RunExistsError(f"run {run_id} already exists in {store.location()}; import never overwrites a "
                                 "run (remove it first, or import into another store); nothing was imported")
    created: list[str] = []
    staged: dict[str, list[tuple[StagedEntity, str]]] = {}
    try:
        for run_id in ids:
            header = {key: value for key, value in docs[run_id].items() if key != "entities"}
            if not store.create_run(run_id, MetadataDocument(header, [])):
                raise RunExistsError(f"run {run_id} appeared in {store.location()} while importing; nothing was "
                                     "imported")
            created.append(run_id)
        for name, stream in files:
            if name.endswith(f"/{METADATA_FILENAME}") or "/" not in name:
                continue  # the documents were read and checked before; the manifest is not stored
            run_id, filename = name.split("/", 1)  # filename: an entity's, or prompting_process/ and a step's
            size, sha = listed[name]
            item = store.stage_entity(run_id, _AtMost(stream, size + 1))  # type: ignore[arg-type]
            staged.setdefault(run_id, []).append((item, filename))
            if (item.size, item.sha256) != (size, sha):
                raise ArchiveRefusedError(f"{name} does not match the size and sha256 in the manifest (tampered or "
                                          "damaged); nothing was imported")
        for run_id in ids:
            _commit(store, run_id, docs[run_id], staged.get(run_id, []))
    except BaseException:
        for run_id in created:  # take back what this import made; nobody else writes a run that did not exist
            with contextlib.suppress(RecorderError):
                store.delete_run(run_id)
        raise
    finally:
        for items in staged.values():
            for item, _ in items:
                item.discard()


def _commit(store: Store, run_id: str, doc: dict[str, Any], items: list[tuple[StagedEntity, str]]) -> None:
    writer = store.writer(run_id)
    try:
        with writer.transaction() as txn:
            for item, filename in items:
                txn.place_entity(item, filename)
            txn.document = MetadataDocument.from_dict(doc)
            txn.replace_document()
    finally:
        writer.close()
