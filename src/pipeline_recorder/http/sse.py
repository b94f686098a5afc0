"""Server-Sent Events framing: one ``Event`` of the change feed -> the bytes of one SSE message.

>>> frame(Event(4, "entity", {"type": "input"}))
b'id: 4\\nevent: entity\\ndata: {"type": "input"}\\n\\n'
"""

from __future__ import annotations

import json

from ..events import HEARTBEAT, Event

MEDIA_TYPE = "text/event-stream"
# Sent first: browsers reconnect after this many milliseconds when the connection drops.
RETRY = b"retry: 1000\n\n"
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def frame(event: Event) -> bytes:
    """The SSE message for ``event``; a heartbeat is a comment line that clients ignore."""
    if event.event == HEARTBEAT:
        return b": heartbeat\n\n"
    # json.dumps never emits a raw newline, so the data fits on one 'data:' line.
    data = json.dumps(event.data, ensure_ascii=False)
    return f"id: {event.id}\nevent: {event.event}\ndata: {data}\n\n".encode()
