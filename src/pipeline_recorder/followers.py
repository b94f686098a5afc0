"""Following a run as it changes: the opening events, then events from each changed document, until ``end``.

A follower asks the store to wake it when the run may have changed (``Store.subscribe``: for the folder store, one
inotify watch per run folder shared by every follower) and reads the run's document through the store's shared
parse (``Store.parsed``), so two hundred followers of one run parse each new version once.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from .errors import CorruptRunError, RunNotFoundError
from .events import END, HEARTBEAT, Event, diff, events_since
from .stores.base import Store

# How often a follower looks at the run even without a change notice: the owner of a run can die without touching
# it (kill -9), and only a look tells that it now reads as "interrupted".
LIVENESS_INTERVAL = 1.0


class _Follower:
    """The logic both followers share: the opening events, then events from each changed document."""

    def __init__(self, store: Store, run_id: str, last_event_id: int | None, heartbeat: float | None) -> None:
        self.store = store
        self.run_id = run_id
        self.last_event_id = last_event_id
        self.heartbeat = heartbeat
        # How long a follower waits for a wake-up before it looks anyway (liveness, heartbeats).
        self.tick = min(LIVENESS_INTERVAL, heartbeat) if heartbeat else LIVENESS_INTERVAL
        self.doc: dict[str, Any] | None = None
        self.ended = False
        self._last_sent = time.monotonic()

    def opening(self) -> list[Event]:
        self.doc = self.read()
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
            new = self.read()
        except (RunNotFoundError, CorruptRunError):
            # The run was deleted (or broken) while followed: there is nothing more to say about it.
            self.ended = True
            return []
        events = diff(self.doc, new) if int(new["revision"]) >= int(self.doc["revision"]) else []
        self.doc = new
        return self._note(events)

    def read(self) -> dict[str, Any]:
        """The current document (RunNotFoundError when the run is gone, CorruptRunError when unreadable), with
        liveness applied on every look."""
        return self.store.apply_liveness(self.run_id, dict(self.store.parsed(self.run_id).doc))

    def _note(self, events: list[Event]) -> list[Event]:
        if any(event.event == END for event in events):
            self.ended = True
            events = events[: next(i for i, e in enumerate(events) if e.event == END) + 1]
        return events


def follow_sync(
    store: Store,
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
    if not store.run_exists(run_id):  # validates the id
        raise RunNotFoundError(f"run {run_id!r} not found")
    follower = _Follower(store, run_id, last_event_id, heartbeat)
    woken = threading.Event()
    store.subscribe(run_id, woken.set)
    try:
        yield from follower.opening()
        while not follower.ended and not (stop is not None and stop.is_set()):
            woken.wait(follower.tick)
            woken.clear()
            yield from follower.next_batch()
    finally:
        store.unsubscribe(run_id, woken.set)


async def follow(
    store: Store,
    run_id: str,
    last_event_id: int | None = None,
    *,
    heartbeat: float | None = None,
) -> AsyncIterator[Event]:
    """The asyncio twin of ``follow_sync``: same events, no thread per follower (the store wakes it)."""
    if not store.run_exists(run_id):
        raise RunNotFoundError(f"run {run_id!r} not found")
    follower = _Follower(store, run_id, last_event_id, heartbeat)
    loop = asyncio.get_running_loop()
    woken = asyncio.Event()

    def wake() -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed while the watcher was still running
            loop.call_soon_threadsafe(woken.set)

    store.subscribe(run_id, wake)
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
        store.unsubscribe(run_id, wake)
