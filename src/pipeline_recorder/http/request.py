"""A request as the handlers see it, whatever the framework: path parameters, query, headers, the client's address,
the root path, and a body that is read only when a handler asks and never past the route's limit.

Each adapter builds one ``Request`` per call (``fastapi_app``, ``flask_blueprints``); no handler sees a framework
object.

>>> body = Body(iter([b'{"a": 1}']).__next__, limit=100)
>>> Request("POST", {}, {}, HeaderMap([]), body).json()
{'a': 1}
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ValidationError
from .errors import BodyTooLargeError
from .headers import Headers

# Reads from the client are asked for in pieces of this size, so that a refused body is never read much past
# its limit (ASGI servers hand over the pieces they received; those are capped by the server's own buffer).
READ_SIZE = 64 * 1024
LOOPBACK_ADDRESSES = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})


class IncompleteBodyError(ValidationError):
    """The client went away (or stopped sending) before its request body was complete."""


class HeaderMap:
    """Case-insensitive headers over ASGI's raw ``(name, value)`` pairs (names in lower case, as ASGI servers give
    them); the first of repeated names wins (as in Starlette and Werkzeug). Nothing is decoded until asked for:
    the ``/status`` fast path looks at one header."""

    __slots__ = ("_raw",)

    def __init__(self, raw: Sequence[tuple[bytes, bytes]]) -> None:
        self._raw = raw

    def get(self, key: str, /) -> str | None:
        wanted = key.lower().encode("latin-1")
        for name, value in self._raw:
            if name == wanted:  # ASGI servers give header names in lower case
                return value.decode("latin-1")
        return None


class Body:
    """The request body, read from the client only when a handler asks: whole (``read``) or piece by piece
    (``chunks``, for bodies streamed to disk). Either way reading stops as soon as more than ``limit`` bytes have
    arrived, with ``BodyTooLargeError`` (413), so a refused body never sits in memory.

    ``source()`` returns the next piece of the body, ``b""`` at its end. A body can be read once.
    """

    def __init__(self, source: Callable[[], bytes], limit: int) -> None:
        self._source = source
        self.limit = limit
        self._used = False

    def chunks(self) -> Iterator[bytes]:
        """The body's pieces as they arrive; raises BodyTooLargeError past the limit."""
        if self._used:
            raise RuntimeError("the request body was already read")
        self._used = True
        total = 0
        while chunk := self._source():
            total += len(chunk)
            if total > self.limit:
                raise BodyTooLargeError(f"the request body is larger than this route's limit of "
                                        f"{size_text(self.limit)}")
            yield chunk

    def read(self) -> bytes:
        """The whole body (at most ``limit`` bytes)."""
        return b"".join(self.chunks())


EMPTY_BODY = Body(lambda: b"", 0)


@dataclass(slots=True)
class Request:
    """One request: what the route's handler may use of it."""

    method: str
    path_params: Mapping[str, str]
    query: Mapping[str, str]
    headers: Headers
    body: Body = EMPTY_BODY
    client: str | None = None  # the peer's IP address, as the server saw it
    root_path: str = ""  # where the API is mounted (ASGI root_path, Flask script root + url_prefix)

    def json(self) -> Any:
        """The body as JSON, strictly: one document, no duplicate keys, no NaN or Infinity; 400 otherwise."""
        return parse_json(self.body.read())

    @property
    def from_loopback(self) -> bool:
        """Whether the client connects from this machine."""
        return self.client in LOOPBACK_ADDRESSES


def _refuse_constant(name: str) -> Any:
    raise ValidationError(f"the request body holds {name}, which is not JSON; send numbers as finite values")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValidationError(f"the request body names the key {key[:40]!r} twice in one object; each "
                                      "key may appear once")
            seen.add(key)
    return out


def parse_json(raw: bytes) -> Any:
    """A request body as JSON (None for an empty body). Refused with a 400 that says why: not JSON, duplicate
    keys, NaN/Infinity, or nested too deep for the parser."""
    if not raw.strip():
        return None
    try:
        return json.loads(raw, object_pairs_hook=_no_duplicates, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValidationError("the request body nests arrays or objects too deeply; a few levels are "
                              "expected") from None
    except ValidationError:
        raise
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationError(f"the request body is not valid JSON: {exc}") from None


def size_text(limit: int) -> str:
    """A byte count as people write limits: '1 MB', '10 kB', '300 bytes'."""
    if limit % 1_000_000 == 0:
        return f"{limit // 1_000_000} MB"
    if limit % 1000 == 0:
        return f"{limit // 1000} kB"
    return f"{limit} bytes"
