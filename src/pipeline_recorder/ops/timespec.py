"""Parsing the time options of the command line: durations (``30d``) and points in time (ISO 8601 or ``2d`` ago)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from ..errors import ValidationError

_DURATION = re.compile(r"\s*(?P<amount>[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>s|m|min|h|d|w)\s*", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """``"30d"``, ``"12h"``, ``"90m"``, ``"45s"``, ``"2w"`` as a timedelta; ValidationError otherwise."""
    match = _DURATION.fullmatch(text)
    if match is None:
        raise ValidationError(f"invalid duration {text[:40]!r}: use a number and a unit, e.g. 30d, 12h, 90m, 45s, 2w")
    return timedelta(**{_UNITS[match["unit"].lower()]: float(match["amount"])})


def parse_moment(text: str, now: datetime | None = None) -> datetime:
    """An aware UTC datetime from ISO 8601 (a date, or a time; UTC when no offset is given) or a duration ago."""
    if _DURATION.fullmatch(text):
        return (now or datetime.now(UTC)) - parse_duration(text)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(f"invalid time {text[:40]!r}: use ISO 8601 (2025-11-04 or 2025-11-04T20:12:00+00:00) "
                              "or a duration ago such as 2d or 3h") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_stamp(value: object) -> datetime | None:
    """A timestamp from metadata.json as an aware datetime, or None when it is missing or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def format_moment(value: object) -> str:
    """A timestamp as every command prints it: local time with its UTC offset, ``2026-12-01 12:15:21+01:00``.

    The same text is accepted back by ``--since``/``--until``; ``-`` when the timestamp is missing or unreadable.
    """
    moment = value if isinstance(value, datetime) else parse_stamp(value)
    if moment is None:
        return "-"
    return moment.astimezone().isoformat(sep=" ", timespec="seconds")
