"""Serving one entity file: opened without following links, streamed, with Range, ETag and Last-Modified, and the
headers that keep a browser from running it."""

from __future__ import annotations

import os
import re
import stat
from email.utils import formatdate
from typing import Any, BinaryIO

from ..errors import EntityNotFoundError
from ..formats import MIME_TYPES, mime_for_filename
from ..store import RunStore
from .errors import error_response
from .headers import Headers, etag_matches
from .ranges import RangeError, content_range, parse_range
from .response import FileBody, Response
from .security import ENTITY_HEADERS, disposition

_MIME = re.compile(r"[a-z]+/[a-z0-9.+-]{1,80}(; ?charset=utf-8)?")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def entity_mime(record: dict[str, Any]) -> str:
    """The MIME type recorded when the entity was saved (detected from its content), if it is a sane one."""
    recorded = record.get("mime_type")
    if isinstance(recorded, str) and (recorded in MIME_TYPES.values() or _MIME.fullmatch(recorded)):
        return recorded
    return mime_for_filename(str(record.get("filename", "")))


def serve_entity(store: RunStore, run_id: str, record: dict[str, Any], headers: Headers) -> Response:
    """The entity's file as a response: 200, 206 for a Range, 304 for a matching If-None-Match, 416 bad range."""
    filename = str(record.get("filename", ""))
    path = store.safe_entity_path(run_id, filename)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        raise EntityNotFoundError(f"run {run_id!r} lists {filename!r} but the file is missing or unreadable") from None
    file = os.fdopen(fd, "rb")
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise EntityNotFoundError(f"run {run_id!r}: {filename!r} is not a regular file")
        response = _answer(record, st, headers, filename, file)
    except BaseException:
        file.close()
        raise
    if not isinstance(response.body, FileBody):
        file.close()
    return response


def _answer(record: dict[str, Any], st: os.stat_result, headers: Headers, filename: str, file: BinaryIO) -> Response:
    size = st.st_size
    sha = record.get("sha256")
    if isinstance(sha, str) and _SHA256.fullmatch(sha):
        etag = f'"{sha}"'
    else:
        etag = f'"{st.st_ino:x}-{size:x}-{st.st_mtime_ns:x}"'
    mime = entity_mime(record)
    out = {
        "ETag": etag,
        "Last-Modified": formatdate(st.st_mtime, usegmt=True),
        "Accept-Ranges": "bytes",
        "Cache-Control": "no-cache",
        "Content-Disposition": disposition(filename, mime),
        **ENTITY_HEADERS,
    }
    if etag_matches(headers.get("If-None-Match"), etag):
        return Response(304, out)
    wanted = headers.get("Range")
    if_range = headers.get("If-Range")
    if wanted is not None and if_range is not None and if_range.strip() != etag:
        wanted = None  # the client's partial copy is of another version: send the whole file
    try:
        chosen = parse_range(wanted, size)
    except RangeError as exc:
        return error_response(416, f"{exc}; accepted: one byte range within 0-{max(size - 1, 0)}",
                              {**out, "Content-Range": f"bytes */{size}"})
    out["Content-Type"] = mime
    if chosen is None:
        out["Content-Length"] = str(size)
        return Response(200, out, FileBody(file, 0, size))
    start, length = chosen
    out["Content-Length"] = str(length)
    out["Content-Range"] = content_range(start, length, size)
    return Response(206, out, FileBody(file, start, length))
