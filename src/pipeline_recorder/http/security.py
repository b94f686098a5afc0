"""Who may ask, and what every answer carries: the Host allow-list (DNS-rebinding defence), the optional bearer
token, CORS (off unless configured), security headers, and sanitised ``Content-Disposition``."""

from __future__ import annotations

import hmac
import re

from ..formats import ACTIVE_MIME_TYPES
from .errors import error_response
from .headers import Headers
from .response import Response
from .settings import Settings

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
_WILDCARD_BINDS = frozenset({"0.0.0.0", "::", ""})

COMMON_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
# Entities are user-generated content: never let one run script, submit forms or be framed as an app.
ENTITY_HEADERS = {"Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'"}
# The viewer's pages load only the server's own scripts, styles and media: even if an entity's text ever reached
# the DOM as markup, no inline or foreign script could run, and the page cannot be framed.
PAGE_HEADERS = {"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; media-src 'self'; "
                "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"}

# Families a browser shows inline without running anything; everything else is an attachment.
_INLINE_PREFIXES = ("image/png", "image/jpeg", "image/webp", "image/gif", "image/bmp", "audio/", "video/",
                    "text/plain", "text/csv", "text/markdown", "application/json")
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]")
CORS_METHODS = "GET, POST, OPTIONS"
CORS_HEADERS = "Authorization, Content-Type, Last-Event-ID, If-None-Match, Range"


class Guard:
    """The request checks of one server, built from its settings."""

    def __init__(self, settings: Settings) -> None:
        names = {*LOOPBACK_HOSTS, *(h.lower() for h in settings.allowed_hosts)}
        if settings.host not in _WILDCARD_BINDS:
            names.add(f"[{settings.host}]" if ":" in settings.host else settings.host.lower())
        self.any_host = "*" in names
        self.hosts = frozenset(names)
        self.token = settings.token
        self.cors_origins = frozenset(settings.cors_origins)

    def check_host(self, host_header: str | None) -> Response | None:
        """None when the Host header names this server; else the 400 answer (a rebinding page sends its own)."""
        if self.any_host:
            return None
        name = _host_name(host_header or "")
        if name is not None and name in self.hosts:
            return None
        return error_response(400, f"Host {(host_header or '')[:80]!r} is not served here; allowed hosts: "
                                   f"{', '.join(sorted(self.hosts))} (any port). Add names with "
                                   "PIPELINE_RECORDER_ALLOWED_HOSTS")

    def check_token(self, authorization: str | None) -> Response | None:
        """None when no token is configured or the request carries it as ``Authorization: Bearer <token>``."""
        if self.token is None:
            return None
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), self.token.encode()):
            return None
        return error_response(401, "this route needs the server's token: send 'Authorization: Bearer <token>' "
                                   "(the value of PIPELINE_RECORDER_TOKEN)", {"WWW-Authenticate": "Bearer"})

    def origin_allowed(self, origin: str | None) -> bool:
        """Whether ``origin`` is in the CORS list."""
        return origin is not None and bool(self.cors_origins) and (origin in self.cors_origins
                                                                    or "*" in self.cors_origins)

    def check_same_site(self, headers: Headers) -> Response | None:
        """None unless a browser says the request comes from a page of another origin that is not in the CORS list
        (``Origin``, or ``Sec-Fetch-Site``); then the 403 answer. Clients that are not browsers send neither header.

        A page may send a "simple" cross-site POST (text/plain, a form) without asking first, so this check, not
        CORS, is what keeps other sites from starting or cancelling runs."""
        origin = headers.get("Origin")
        if self.origin_allowed(origin):
            return None
        site = (headers.get("Sec-Fetch-Site") or "").strip().lower()
        foreign = origin is not None and not _same_origin(origin, headers.get("Host"))
        if site in ("cross-site", "same-site") or foreign:
            return error_response(403, "requests that change something are not taken from pages of other sites "
                                       f"(Origin {(origin or 'not sent')[:80]!r}, Sec-Fetch-Site "
                                       f"{site or 'not sent'!r}); allow an origin with PIPELINE_RECORDER_CORS_ORIGINS")
        return None

    def cors_headers(self, origin: str | None) -> dict[str, str]:
        """CORS headers for an allowed Origin, else none (browsers then keep other origins out)."""
        if not self.origin_allowed(origin):
            return {}
        assert origin is not None
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin",
                "Access-Control-Expose-Headers": "ETag, Content-Range, Accept-Ranges, Content-Disposition"}

    def preflight(self, origin: str | None) -> Response:
        """The answer to an ``OPTIONS`` preflight request."""
        headers = self.cors_headers(origin)
        if not headers:
            return error_response(403, f"origin {(origin or '')[:80]!r} may not call this API; allowed origins "
                                       "are set with PIPELINE_RECORDER_CORS_ORIGINS (CORS is off by default)")
        headers.update({"Access-Control-Allow-Methods": CORS_METHODS, "Access-Control-Allow-Headers": CORS_HEADERS,
                        "Access-Control-Max-Age": "600"})
        return Response(204, headers)


def _same_origin(origin: str, host_header: str | None) -> bool:
    """Whether an Origin ('http://127.0.0.1:17801') names the server the request was sent to (its Host header)."""
    scheme, sep, authority = origin.strip().lower().partition("://")
    return bool(sep) and scheme in ("http", "https") and authority == (host_header or "").strip().lower()


def _host_name(host: str) -> str | None:
    """The host part of a Host header, lowercased ('[::1]' keeps its brackets), or None if malformed."""
    host = host.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            return None
        name, rest = host[: end + 1], host[end + 1 :]
    else:
        name, _, port = host.partition(":")
        rest = ":" + port if _ else ""
    if rest and not (rest.startswith(":") and rest[1:].isdigit()):
        return None
    return name or None


def disposition(filename: str, mime_type: str, *, force_attachment: bool = False) -> str:
    """``inline`` for types a browser only displays, ``attachment`` for anything it could run; a safe filename."""
    safe = _UNSAFE_FILENAME.sub("_", filename)[:128].lstrip(".") or "download"
    base = mime_type.split(";")[0].strip().lower()
    inline = (not force_attachment and base not in ACTIVE_MIME_TYPES
              and any(mime_type.lower().startswith(prefix) for prefix in _INLINE_PREFIXES))
    return f'{"inline" if inline else "attachment"}; filename="{safe}"'
