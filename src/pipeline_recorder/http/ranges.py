"""HTTP ``Range`` requests on one file: a pure parser whose private exceptions become 416 in one place.

Only single byte ranges are served as 206; a request for several ranges gets the whole file (RFC 9110 lets a server
ignore Range), which every client handles. A last position past the end, however large, is clamped to the file's
end (RFC 9110 section 14.1.2), so ``bytes=0-99999999999999999999`` is the whole file as a 206.

>>> parse_range("bytes=0-99", 1000)
(0, 100)
>>> parse_range("bytes=-10", 1000)
(990, 10)
>>> parse_range("bytes=0-" + "9" * 40, 1000)
(0, 1000)
"""

from __future__ import annotations


class _RangeError(Exception):
    """Base of the range problems; the HTTP layer answers each with 416 and this message."""


class _MalformedRange(_RangeError):
    pass


class _UnsatisfiableRange(_RangeError):
    pass


RangeError = _RangeError  # the one name callers catch


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(start, length)`` of the single byte range asked for, or None to send the whole file.

    Raises RangeError (answered with 416) for a malformed header or a range outside a file of ``size`` bytes.
    """
    if header is None:
        return None
    unit, sep, spec = header.strip().partition("=")
    if not sep or unit.strip().lower() != "bytes":
        raise _MalformedRange(f"Range {header[:60]!r} is not of the form 'bytes=START-END', 'bytes=START-' or "
                              "'bytes=-SUFFIX'")
    parts = [part.strip() for part in spec.split(",")]
    if len(parts) > 1:
        for part in parts:
            _bounds(part, header)
        return None
    start, end = _bounds(parts[0], header)
    if start is None:
        assert end is not None
        if end == 0 or size == 0:
            raise _UnsatisfiableRange(f"Range {header[:60]!r} asks for no bytes of a {size}-byte file")
        length = min(end, size)
        return size - length, length
    if start >= size:
        raise _UnsatisfiableRange(f"Range {header[:60]!r} starts at or after the end of the {size}-byte file")
    last = size - 1 if end is None else min(end, size - 1)
    if last < start:
        raise _MalformedRange(f"Range {header[:60]!r} ends before it starts")
    return start, last - start + 1


def _bounds(part: str, header: str) -> tuple[int | None, int | None]:
    first, dash, second = part.partition("-")
    first, second = first.strip(), second.strip()
    if not dash or (not first and not second) or not _digits(first, second):
        raise _MalformedRange(f"Range {header[:60]!r} is not of the form 'bytes=START-END', 'bytes=START-' or "
                              "'bytes=-SUFFIX'")
    return (int(first) if first else None), (int(second) if second else None)


# Positions of any size are read (a client may ask for "to the end" with a huge last position); the cap only keeps
# int() from parsing a megabyte of digits.
_MAX_DIGITS = 1000


def _digits(*values: str) -> bool:
    return all(value == "" or (value.isascii() and value.isdigit() and len(value) <= _MAX_DIGITS)
               for value in values)


def content_range(start: int, length: int, size: int) -> str:
    return f"bytes {start}-{start + length - 1}/{size}"
