"""The web viewer's files (``pipeline_recorder/web/static``), found through the package so any working directory
works, and served only from inside that folder.

The pages (``static/*.html``) are Jinja templates that extend ``web/templates/page.html``, the one home of what
every page shares (the head, the skip link, the site header, ``<main>``), and use the macros of
``web/templates/parts.html`` for pieces a page repeats. Each page is rendered the first time it is asked for and
kept for the life of the ``Pages`` object (the files are the installed package's, so they do not change under a
running server); both adapters serve these bytes, under the same headers as before."""

from __future__ import annotations

import dataclasses
import os
import re
import stat
import threading
from importlib import resources
from pathlib import Path
from typing import BinaryIO

import jinja2

from ..errors import EntityNotFoundError, ValidationError
from .response import FileBody, Response
from .security import PAGE_HEADERS

_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
MEDIA_TYPES = {
    "html": "text/html; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "mjs": "text/javascript; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "json": "application/json",
    "svg": "image/svg+xml",
    "png": "image/png",
    "ico": "image/x-icon",
    "woff2": "font/woff2",
    "txt": "text/plain; charset=utf-8",
    "map": "application/json",
}


class PageNotFoundError(EntityNotFoundError):
    """No viewer file of that name."""


class Pages:
    """The static viewer files."""

    def __init__(self, root: Path | None = None, templates: Path | None = None) -> None:
        web = Path(str(resources.files("pipeline_recorder") / "web"))
        self.root = root if root is not None else web / "static"
        # No variables reach a page (they are the same for every request), so autoescape only guards the macros'
        # arguments; an undefined name is an error, not an empty string.
        self._templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(templates if templates is not None else web / "templates"),
            autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
            keep_trailing_newline=True, auto_reload=False)
        self._rendered: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def page(self, name: str, status: int = 200) -> Response:
        """A viewer page (``index.html``, ``run.html``, ``compare.html``, ``no-run.html``), answered with ``status``."""
        return dataclasses.replace(self.static(name), status=status)

    def static(self, path: str) -> Response:
        """A file under the static folder: plain names only, no '..', no hidden files, no links out. A page
        (``.html``) is answered rendered."""
        segments = path.split("/")
        if len(segments) > 6 or not all(_SEGMENT.fullmatch(s) and ".." not in s for s in segments):
            raise ValidationError(f"static path {path[:80]!r} is not a plain relative path of the viewer files")
        ext = segments[-1].rsplit(".", 1)[-1].lower() if "." in segments[-1] else ""
        if ext == "html" and (rendered := self._rendered.get(path)) is not None:
            return _page_response(rendered)
        file, size = self._open(path, segments)
        if ext == "html":
            with file:
                return _page_response(self._render(path, file.read()))
        headers = {"Content-Type": MEDIA_TYPES.get(ext, "application/octet-stream"),
                   "Content-Length": str(size), "Cache-Control": "no-cache"}
        return Response(200, headers, FileBody(file, 0, size))

    def _open(self, path: str, segments: list[str]) -> tuple[BinaryIO, int]:
        """The regular file at ``segments`` inside the folder, opened without following links, and its size."""
        real_root = os.path.realpath(self.root)
        target = os.path.join(real_root, *segments)
        if os.path.commonpath([real_root, os.path.realpath(target)]) != real_root:
            raise PageNotFoundError(f"no viewer file {path[:80]!r}")
        try:
            fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            raise PageNotFoundError(f"no viewer file {path[:80]!r}") from None
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # checked before fdopen, which refuses a folder with its own error
            os.close(fd)
            raise PageNotFoundError(f"no viewer file {path[:80]!r}")
        return os.fdopen(fd, "rb"), st.st_size

    def _render(self, path: str, source: bytes) -> bytes:
        """The page ``path`` (its template ``source``) rendered, once: later calls answer the kept bytes."""
        with self._lock:
            if (rendered := self._rendered.get(path)) is None:
                rendered = self._templates.from_string(source.decode("utf-8")).render().encode("utf-8")
                self._rendered[path] = rendered
            return rendered


def _page_response(rendered: bytes) -> Response:
    """A rendered page, with the pages' security headers (each adapter adds the length of a bytes body)."""
    return Response(200, {"Content-Type": MEDIA_TYPES["html"], "Cache-Control": "no-cache", **PAGE_HEADERS}, rendered)
