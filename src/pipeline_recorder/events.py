"""The change feed of a run: what happened since a point, as ordered events, and followers that wait for more.

A run changes only by rewriting its metadata.json, and every rewrite raises ``revision``. So the feed needs no
journal: the difference between two versions of the document *is* the list of events, and a client that says
"I have seen up to event X" can be brought up to date from the current document alone.

Events (``Event.event``) and their data:

- ``entity``: the entity record exactly as listed in metadata.json
- ``state``: ``current_state``
- ``status``: ``{"status": ...}``
- ``end``: ``{"status": <terminal status or "interrupted">}``; nothing follows it

Event ids are integers ``revision * 4 + slot`` (slot 0 entity, 1 state, 2 status, 3 end): they increase through a
stream, and an entity's id comes from its own ``revision``, so resuming after id X sends each entity once.

Followers wait for changes with file-system notifications (``watchfiles``, inotify on Linux): one watcher thread
per run folder per process, shared by every follower of that run, so a hundred clients of one run cost one watch.

>>> for event in follow_sync(RunStore("."), run_id):     # doctest: +SKIP
...     print(event.event, event.data)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from watchfiles._rust_notify import RustNotify

from . import runformat
from .errors import CorruptRunError, RunNotFoundError, ValidationError
from .fileversion import VersionCache
from .naming import METADATA_FILENAME
from .store import ParsedRun, RunStore, apply_liveness, parse_metadata_since

ENTITY, STATE, STATUS, END = "entity", "state", "status", "end"
HEARTBEAT = "heartbeat"
_SLOTS = {ENTITY: 0, STATE: 1, STATUS: 2, END: 3}
ENDED_STATUSES = frozenset({*runformat.TERMINAL_STATUSES, runformat.INTERRUPTED})

# How often a follower looks at the run even without a file event: the owner of a run can die without touching
# its files (kill -9), and only a look tells that it now reads as "interrupted".
LIVENESS_INTERVAL = 1.0
# watchfiles: report a change once nothing else changed for STEP_MS (latency), group at most DEBOUNCE_MS.
STEP_MS = 5
DEBOUNCE_MS = 20


@dataclass(frozen=True)
class Event:
    """One event of a run's feed. ``id`` is None only for heartbeats."""

    id: int | None
    event: str
    data: Any


def event_id(revision: int, event: str) -> int:
    return revision * 4 + _SLOTS[event]


def parse_last_event_id(value: str | None) -> int | None:
    """The id a reconnecting client sent (``Last-Event-ID``), or None; ValidationError when it is not one of ours."""
    if value is None or value.strip() == "":
        return None
    text = value.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise ValidationError(f"Last-Event-ID {value[:40]!r} is not an event id of this server (a non-negative "
                              "integer as sent in an event's 'id:' line)")
    return int(text)


def _entity_revision(entity: dict[str, Any], doc_revision: int) -> int:
    revision = entity.get("revision")
    return revision if isinstance(revision, int) else doc_revision


def _status_events(doc: dict[str, Any], after: int) -> list[Event]:
    revision = int(doc["revision"])
    events = []
    for kind, data in ((STATE, doc["current_state"]), (STATUS, {"status": doc["status"]})):
        if event_id(revision, kind) > after:
            events.append(Event(event_id(revision, kind), kind, data))
    if doc["status"] in ENDED_STATUSES:
        events.append(Event(max(event_id(revision, END), after + 1), END, {"status": doc["status"]}))
    return events


def events_since(doc: dict[str, Any], last_event_id: int | None = None) -> list[Event]:
    """Everything a client that has seen up to ``last_event_id`` (None: nothing) must get to match ``doc``.

    The entities it has not seen, in sequence order; then the current state and status if the run changed since;
    then ``end`` if the run has ended (always: a client must learn that the stream is over).
    """
    after = -1 if last_event_id is None else last_event_id
    revision = int(doc["revision"])
    # An entity's id is event_id(rev, ENTITY) = rev * 4, so "id > after" is "rev > after // 4".
    events = [Event(event_id(rev, ENTITY), ENTITY, entity)
              for rev, entity in _entities_after(doc["entities"], after // 4, revision)]
    return events + _status_events(doc, after)


def _entities_after(entities: list[dict[str, Any]], revision: int, doc_revision: int) \
        -> list[tuple[int, dict[str, Any]]]:
    """The entities saved after ``revision``, with their revisions. Entities are listed in the order they were
    saved, so the scan runs back from the end and stops at the first older one: a follower of a run with 10,000
    entities pays for what is new, not for the whole list."""
    found = []
    for entity in reversed(entities):
        rev = _entity_revision(entity, doc_revision)
        if rev <= revision:
            break
        found.append((rev, entity))
    found.reverse()
    return found


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[Event]:
    """The events that turn a client's view of ``old`` into ``new``: new entities, changed state and status, end."""
    old_revision = int(old["revision"])
    new_revision = int(new["revision"])
    events = [Event(event_id(rev, ENTITY), ENTITY, entity)
              for rev, entity in _entities_after(new["entities"], old_revision, new_revision)]
    # A status can change without a new revision: liveness reads a running run as "interrupted" once its writer
    # died. Ids of that revision were sent already, so only "end" (whose data carries the status) may follow.
    if new_revision > old_revision:
        if new["current_state"] != old["current_state"]:
            events.append(Event(event_id(new_revision, STATE), STATE, new["current_state"]))
        if new["status"] != old["status"]:
            events.append(Event(event_id(new_revision, STATUS), STATUS, {"status": new["status"]}))
    if new["status"] in ENDED_STATUSES:
        events.append(Event(event_id(new_revision, END), END, {"status": new["status"]}))
    return events


# -- watching a run folder ---------------------------------------------------------------------------------------


class _FolderWatch:
    """One watchfiles watcher on one run folder, waking every subscriber when metadata.json is replaced."""

    def __init__(self, folder: Path, on_idle: Callable[[_FolderWatch], None]) -> None:
        self.folder = folder
        self.subscribers: set[Callable[[], None]] = set()
        self._stop = threading.Event()
        self._on_idle = on_idle
        # Created here, in the subscriber's thread, so the watch is in place before the subscriber reads the run:
        # nothing written after that read can be missed.
        self._notify = RustNotify([str(folder)], False, False, 50, False, True)
        self._thread = threading.Thread(target=self._run, name=f"watch-{folder.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                changes = self._notify.watch(DEBOUNCE_MS, STEP_MS, 1000, self._stop)
                if isinstance(changes, set) and any(
                    os.path.basename(path) == METADATA_FILENAME for _, path in changes
                ):
                    self._wake()
        except Exception:  # the folder vanished or the watcher failed: followers reread and decide
            self._wake()
        finally:
            self._notify.close()
            self._on_idle(self)

    def _wake(self) -> None:
        for wake in list(self.subscribers):
            wake()

    def stop(self) -> None:
        self._stop.set()


class _WatchHub:
    """The process's watchers, one per run folder, started by the first follower and stopped after the last."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watches: dict[Path, _FolderWatch] = {}

    def subscribe(self, folder: Path, wake: Callable[[], None]) -> None:
        with self._lock:
            watch = self._watches.get(folder)
            if watch is None:
                watch = self._watches[folder] = _FolderWatch(folder, self._forget)
            watch.subscribers.add(wake)

    def unsubscribe(self, folder: Path, wake: Callable[[], None]) -> None:
        with self._lock:
            watch = self._watches.get(folder)
            if watch is None:
                return
            watch.subscribers.discard(wake)
            if not watch.subscribers:
                del self._watches[folder]
                watch.stop()

    def _forget(self, watch: _FolderWatch) -> None:
        with self._lock:
            if self._watches.get(watch.folder) is watch:
                del self._watches[watch.folder]
        watch._wake()  # a watcher that died on its own must not leave followers waiting for it

    def active(self) -> int:
        """How many folders are being watched (for tests and diagnostics)."""
        with self._lock:
            return len(self._watches)


HUB = _WatchHub()


# -- reading the run as it changes -------------------------------------------------------------------------------


# Parsed documents shared by every follower in the process: two hundred clients of one run parse each new
# version of its metadata.json once, not two hundred times; a new version that only appends records is parsed
# from the one before (store.parse_metadata_since), so each keeps the file's bytes. The documents are never changed
# after parsing (readers get shallow copies; the entity records are shared, read-only, between versions).
_PARSED: VersionCache[ParsedRun] = VersionCache(64)


class _RunReader:
    """Reads a run's metadata.json again only when the file was replaced (its stat *and* its header tell, see
    fileversion.py: a stale copy kept here would hide the run's last change, its end, until the next one -- which
    never comes), and applies liveness on every look."""

    def __init__(self, store: RunStore, run_id: str) -> None:
        self.store = store
        self.run_id = run_id
        self.path = store.run_folder(run_id) / METADATA_FILENAME

    def read(self) -> dict[str, Any]:
        """The current document (RunNotFoundError when the run is gone, CorruptRunError when unreadable)."""
        parsed = _PARSED.load(str(self.path), self.path, self.run_id, self._parse)
        return apply_liveness(dict(parsed.doc))

    def _parse(self, data: bytes, previous: ParsedRun | None) -> tuple[dict[str, Any], ParsedRun]:
        parsed = parse_metadata_since(data, self.path, previous)
        return parsed.doc, parsed


class _Follower:
    """The logic both followers share: the opening events, then events from each changed document."""

    def __init__(self, store: RunStore, run_id: str, last_event_id: int | None, heartbeat: float | None) -> None:
        self.reader = _RunReader(store, run_id)
        self.folder = store.run_folder(run_id)
        self.last_event_id = last_event_id
        self.heartbeat = heartbeat
        # How long a follower waits for a wake-up before it looks anyway (liveness, heartbeats).
        self.tick = min(LIVENESS_INTERVAL, heartbeat) if heartbeat else LIVENESS_INTERVAL
        self.doc: dict[str, Any] | None = None
        self.ended = False
        self._last_sent = time.monotonic()

    def opening(self) -> list[Event]:
        self.doc = self.reader.read()
        self._last_sent = time.monotonic()
        return self._note(events_since(self.doc, self.last_event_id))

    def next_batch(self) -> list[Event]:
        """What to send after a wake-up or a tick: the changes, else a heartbeat when one is due."""
        events = self.changed()
        now = time.monotonic()
        if events:
            self._last_sent = now
        elif self.heartbeat and now - self._last_sent >= self.heartbeat and not self.ended:
            self._last_sent = now
            events = [Event(None, HEARTBEAT, None)]
        return events

    def changed(self) -> list[Event]:
        assert self.doc is not None
        try:
            new = self.reader.read()
        except (RunNotFoundError, CorruptRunError):
            # The run was deleted (or broken) while followed: there is nothing more to say about it.
            self.ended = True
            return []
        events = diff(self.doc, new) if int(new["revision"]) >= int(self.doc["revision"]) else []
        self.doc = new
        return self._note(events)

    def _note(self, events: list[Event]) -> list[Event]:
        if any(event.event == END for event in events):
            self.ended = True
            events = events[: next(i for i, e in enumerate(events) if e.event == END) + 1]
        return events


def _check_run(store: RunStore, run_id: str) -> None:
    folder = store.run_folder(run_id)  # validates the id
    if not (folder / METADATA_FILENAME).exists():
        raise RunNotFoundError(f"run {run_id!r} not found")
    if folder.is_symlink() or not folder.is_dir():
        raise RunNotFoundError(f"run {run_id!r} not found (its folder is a link or not a directory)")


def follow_sync(
    store: RunStore,
    run_id: str,
    last_event_id: int | None = None,
    *,
    heartbeat: float | None = None,
    stop: threading.Event | None = None,
) -> Iterator[Event]:
    """Yield the run's events as they happen, ending after ``end``; blocking (one thread per follower).

    With ``heartbeat`` seconds, an ``Event(None, "heartbeat", None)`` is yielded whenever nothing else was for that
    long. Raises RunNotFoundError / CorruptRunError / ValidationError before the first event when the run cannot
    be followed. ``stop`` ends the feed early (server shutdown).
    """
    _check_run(store, run_id)
    follower = _Follower(store, run_id, last_event_id, heartbeat)
    woken = threading.Event()
    HUB.subscribe(follower.folder, woken.set)
    try:
        yield from follower.opening()
        while not follower.ended and not (stop is not None and stop.is_set()):
            woken.wait(follower.tick)
            woken.clear()
            yield from follower.next_batch()
    finally:
        HUB.unsubscribe(follower.folder, woken.set)


async def follow(
    store: RunStore,
    run_id: str,
    last_event_id: int | None = None,
    *,
    heartbeat: float | None = None,
) -> AsyncIterator[Event]:
    """The asyncio twin of ``follow_sync``: same events, no thread per follower (the shared watcher wakes it)."""
    _check_run(store, run_id)
    follower = _Follower(store, run_id, last_event_id, heartbeat)
    loop = asyncio.get_running_loop()
    woken = asyncio.Event()

    def wake() -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed while the watcher was still running
            loop.call_soon_threadsafe(woken.set)

    HUB.subscribe(follower.folder, wake)
    try:
        for event in follower.opening():
            yield event
        while not follower.ended:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), follower.tick)
            woken.clear()
            for event in follower.next_batch():
                yield event
    finally:
        HUB.unsubscribe(follower.folder, wake)
