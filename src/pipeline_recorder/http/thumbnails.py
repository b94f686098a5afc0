"""Serving an entity's thumbnail (image) or poster (video): ``GET /api/pipeline/{run_id}/thumbnail/{filename}``.

The WebP comes from ``pipeline_recorder.thumbnails`` (made once, cached beside the run); this module gives it the
headers every entity answer has -- an ETag (304 on If-None-Match, answered before anything is read or made),
``no-cache`` (revalidate, then use the copy), nosniff and the entity sandbox -- so a browser treats a thumbnail as
the entity's own content.
"""

from __future__ import annotations

from typing import Any

from ..thumbnails import THUMBNAIL_BOX, Thumbnails, check_kind
from .headers import Headers, etag_matches
from .response import Response
from .security import ENTITY_HEADERS, disposition

WEBP = "image/webp"


def thumbnail_etag(record: dict[str, Any]) -> str:
    """The thumbnail's ETag: the entity's hash and the thumbnail size (a new size is a new thumbnail)."""
    return f'"{record["sha256"]}-t{THUMBNAIL_BOX}"'


def serve_thumbnail(thumbnails: Thumbnails, run_id: str, record: dict[str, Any], headers: Headers) -> Response:
    """200 with the WebP, or 304 when If-None-Match names it. NoThumbnailError (415), ThumbnailRefusedError (422)."""
    check_kind(record)  # an entity of another kind, or without a sha256, has no thumbnail (nor an ETag)
    etag = thumbnail_etag(record)
    out = {"ETag": etag, "Cache-Control": "no-cache", **ENTITY_HEADERS}
    if etag_matches(headers.get("If-None-Match"), etag):
        return Response(304, out)
    webp = thumbnails.get(run_id, record)
    stem = str(record.get("filename", "entity")).rsplit(".", 1)[0]
    return Response(200, {**out, "Content-Type": WEBP, "Content-Length": str(len(webp)),
                          "Content-Disposition": disposition(f"{stem}.thumbnail.webp", WEBP)}, webp)
