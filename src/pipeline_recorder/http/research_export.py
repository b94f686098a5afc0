"""GET /api/pipeline/export: a research export of a selection of runs (a session, a user, a device, a kind, a time
span), streamed as a zip archive, a CSV table or a Parquet table -- the viewer's "export this session".

The selection and the privacy options are the command line's (``ops/research_*``); the route only reads them from
the query: ``session_id``, ``user_id``, ``device_id``, ``kind``, ``since``, ``until``, ``format`` (``zip``,
``csv``, ``parquet``), ``pseudonymise`` and ``no_text`` (``1``/``true`` or ``0``/``false``). At least one filter
is required: the whole store is never one download. The runs are selected and the format checked before the first
byte, so an empty selection is a JSON 404 and a missing pyarrow a JSON 503, never a broken download. A pseudonym
key is never taken over HTTP (it would sit in access logs): pseudonyms of the route are per export.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import ValidationError
from ..naming import RUN_ID_PATTERN
from ..stores.base import Store
from .request import Request
from .response import ByteStream, Response

FORMATS = {"zip": "archive", "csv": "csv", "parquet": "parquet"}
MEDIA_TYPES = {"zip": "application/zip", "csv": "text/csv; charset=utf-8",
               "parquet": "application/vnd.apache.parquet"}
FILTERS = ("session_id", "user_id", "device_id", "kind", "since", "until")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


def _flag(query: Mapping[str, str], name: str) -> bool:
    value = query.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValidationError(f"query parameter {name}={value[:20]!r} must be 1, true, 0 or false")


def _filename(query: Mapping[str, str], ext: str) -> str:
    """A download name from the session (or device) when it is a plain id, else a generic one."""
    for name in ("session_id", "device_id"):
        value = query.get(name, "")
        if RUN_ID_PATTERN.fullmatch(value):
            return f"{name.removesuffix('_id')}-{value}.{ext}"
    return f"research-export.{ext}"


def research_export(store: Store, request: Request) -> Response:
    """GET /api/pipeline/export?session_id=S&format=zip|csv|parquet[&pseudonymise=1][&no_text=1]."""
    # Imported here: the ops layer's export modules are loaded by the first export, not by every server start.
    from ..ops.research_export import iter_export, plan_export
    from ..ops.research_privacy import Privacy
    from ..ops.research_select import Selection

    query = request.query
    fmt = query.get("format", "zip").strip().lower() or "zip"
    if fmt not in FORMATS:
        raise ValidationError(f"query parameter format={fmt[:20]!r} must be zip, csv or parquet")
    selection = Selection.parse(**{name: query.get(name) for name in FILTERS})
    if selection.is_empty():
        raise ValidationError(f"name the runs to export with at least one of {', '.join(FILTERS)}")
    privacy = Privacy(pseudonymise=_flag(query, "pseudonymise"), no_text=_flag(query, "no_text"))
    chunks = iter_export(plan_export(store, selection, privacy), FORMATS[fmt])
    return Response(200, {"Content-Type": MEDIA_TYPES[fmt], "Cache-Control": "no-store",
                          "Content-Disposition": f'attachment; filename="{_filename(query, fmt)}"'},
                    ByteStream(chunks))
