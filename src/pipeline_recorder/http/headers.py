"""Request headers as the handlers see them, and conditional-request matching."""

from __future__ import annotations

from typing import Protocol


class Headers(Protocol):
    """Case-insensitive header access; Starlette's and Werkzeug's header objects both fit."""

    def get(self, key: str, /) -> str | None: ...


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` value names ``etag`` (weak comparison, ``*`` matches any)."""
    if not if_none_match:
        return False
    bare = etag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == bare:
            return True
    return False
