"""The change feed of a run: what happened since a point, as ordered events, and followers that wait for more.

A run changes only by rewriting its metadata.json, and every rewrite raises ``revision``. So the feed needs no
journal: the difference between two versions of the document *is* the list of events, and a client that says
"I have seen up to event X" can be brought up to date from the current document alone.

Events (``Event.event``) and their data:

- ``entity``: the entity record exactly as listed in metadata.json
- ``state``: ``current_state``
- ``status``: ``{"status": ...}``
- ``end``: ``{"status": <terminal status or "interrupted">}``; nothing follows it
- ``process_step``: a step record of the prompting process, as listed in ``prompting_process``, when a follower
  saw it added (a step's revision changes neither state nor status, so it takes that revision's state slot); a
  client that connects or resumes reads them from ``/status``
- ``annotations``: ``{"notes", "tags"}`` when a follower saw a run's notes or tags change (an annotation is a
  revision of its own that changes neither state nor status, so it takes that revision's status slot); a client
  that connects or resumes reads them from ``/status``

Event ids are integers ``revision * 4 + slot`` (slot 0 entity, 1 state, 2 status, 3 end): they increase through a
stream, and an entity's id comes from its own ``revision``, so resuming after id X sends each entity once.

This module is the pure part (ids, the events between two documents); ``followers`` follows a run as it changes
(re-exported here: ``follow``, ``follow_sync``).

>>> for event in follow_sync(open_store("."), run_id):     # doctest: +SKIP
...     print(event.event, event.data)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import runformat
from .errors import ValidationError

ENTITY, STATE, STATUS, END = "entity", "state", "status", "end"
ANNOTATIONS = "annotations"
PROCESS_STEP = "process_step"
HEARTBEAT = "heartbeat"
_SLOTS = {ENTITY: 0, STATE: 1, STATUS: 2, END: 3}
ENDED_STATUSES = frozenset({*runformat.TERMINAL_STATUSES, runformat.INTERRUPTED})



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
    steps = new.get("prompting_process")
    if isinstance(steps, list) and steps != old.get("prompting_process"):
        events.extend(Event(event_id(rev, STATE), PROCESS_STEP, step)
                      for rev, step in _entities_after([s for s in steps if isinstance(s, dict)], old_revision,
                                                       new_revision))
        events.sort(key=lambda event: event.id or 0)  # ids rise through a stream
    # A status can change without a new revision: liveness reads a running run as "interrupted" once its writer
    # died. Ids of that revision were sent already, so only "end" (whose data carries the status) may follow.
    if new_revision > old_revision:
        if new["current_state"] != old["current_state"]:
            events.append(Event(event_id(new_revision, STATE), STATE, new["current_state"]))
        if new["status"] != old["status"]:
            events.append(Event(event_id(new_revision, STATUS), STATUS, {"status": new["status"]}))
        elif _annotations(new) != _annotations(old):
            events.append(Event(event_id(new_revision, STATUS), ANNOTATIONS, _annotations(new)))
    if new["status"] in ENDED_STATUSES:
        events.append(Event(event_id(new_revision, END), END, {"status": new["status"]}))
    return events


def _annotations(doc: dict[str, Any]) -> dict[str, Any]:
    """The notes and tags of a document (a run written before they existed has none: the defaults)."""
    return {"notes": doc.get("notes", ""), "tags": doc.get("tags", [])}


# Imported last: the followers use the events above.
from .followers import follow, follow_sync  # noqa: E402

__all__ = ["ANNOTATIONS", "END", "ENTITY", "HEARTBEAT", "PROCESS_STEP", "STATE", "STATUS", "Event", "diff",
           "event_id",
           "events_since", "follow", "follow_sync", "parse_last_event_id"]
