"""The one place where a request is admitted to its route, for both adapters, before any handler runs and before
any byte of the body is read: the token, loopback-only writes, cross-site refusal, the content type and the
declared length. What a route asks for is in its row of the route table (``routes.py``).

Order matters: the token is checked first, so an anonymous client learns nothing else and its body is never read;
the body is then read only by the handler, through ``Request.body``, which stops at the route's limit.
"""

from __future__ import annotations

from .errors import error_response
from .request import Request, size_text
from .response import Response
from .routes import ANY_TYPE, Auth, BodySpec, Route
from .security import Guard


def admit(guard: Guard, route: Route, request: Request) -> Response | None:
    """None when the request may go to the route's handler; else the refusal to answer with."""
    if route.auth is not Auth.OPEN and (refused := guard.check_token(request.headers.get("Authorization"))):
        return refused
    if route.auth is Auth.WRITE and guard.token is None and not request.from_loopback:
        return error_response(403, "this server has no token, so it takes writes only from its own machine; set "
                                   "PIPELINE_RECORDER_TOKEN to accept them from other machines")
    if route.changes and (refused := guard.check_same_site(request.headers)):
        return refused
    if route.body is not None:
        return _check_body(route.body, request)
    return None


def _check_body(spec: BodySpec, request: Request) -> Response | None:
    headers = request.headers
    length_header = headers.get("Content-Length")
    has_body = headers.get("Transfer-Encoding") is not None or (length_header or "0").strip() != "0"
    content_type = headers.get("Content-Type")
    if has_body or content_type is not None or spec.required:
        media = (content_type or "").partition(";")[0].strip().lower()
        if media not in spec.content_types and ANY_TYPE not in spec.content_types:
            return error_response(415, f"this route takes a body of type {', '.join(spec.content_types)}, not "
                                       f"{(content_type or 'none')[:80]!r}")
    if length_header is not None:
        text = length_header.strip()
        if not (text.isascii() and text.isdigit()):
            return error_response(400, f"Content-Length {length_header[:40]!r} is not a number of bytes")
        if int(text) > spec.max_bytes:
            return error_response(413, f"the request body ({int(text)} bytes) is larger than this route's limit "
                                       f"of {size_text(spec.max_bytes)}")
    return None
