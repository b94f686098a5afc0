"""`serve`: the HTTP server (owned by the HTTP API work)."""

from __future__ import annotations

from . import app as app
