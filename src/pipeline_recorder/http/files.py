"""Serving one entity file: opened without following links, streamed, with Range, ETag and Last-Modified, and the
headers that keep a browser from running it."""

from __future__ import annotations

import re
from email.utils import formatdate
from typing import Any, BinaryIO

from ..formats import MIME_TYPES, mime_for_filename
from ..stores.base import EntityFile, Store
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


def serve_entity(store: Store, run_id: str, record: dict[str, Any], headers: Headers) -> Response:
    """The entity's file as a response: 200, 206 for a Range, 304 for a matching If-None-Match, 416 bad range."""
    filename = str(record.get("filename", ""))
    # The store's one safe opener: no links, no fifos, the recorded size, no hard links (EntityNotFoundError).
    entity = store.open_entity(run_id, record)
    file = entity.file
    try:
        response = _answer(record, entity, headers, filename, file)
    except BaseException:
        file.close()
        raise
    if not isinstance(response.body, FileBody):
        file.close()
    return response


def _answer(record: dict[str, Any], entity: EntityFile, headers: Headers, filename: str, file: BinaryIO) -> Response:
    size = entity.size
    sha = record.get("sha256")
    etag = f'"{sha}"' if isinstance(sha, str) and _SHA256.fullmatch(sha) else f'"{entity.version}"'
    mime = entity_mime(record)
    out = {
        "ETag": etag,
        "Last-Modified": formatdate(entity.modified, usegmt=True),
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
