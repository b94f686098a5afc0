"""The web viewer's files (``pipeline_recorder/web/static``), found through the package so any working directory
works, and served only from inside that folder."""

from __future__ import annotations

import dataclasses
import os
import re
import stat
from importlib import resources
from pathlib import Path

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

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else Path(str(resources.files("pipeline_recorder") / "web" / "static"))

    def page(self, name: str, status: int = 200) -> Response:
        """A viewer page (``index.html``, ``run.html``, ``compare.html``, ``no-run.html``), answered with ``status``."""
        return dataclasses.replace(self.static(name), status=status)

    def static(self, path: str) -> Response:
        """A file under the static folder: plain names only, no '..', no hidden files, no links out."""
        segments = path.split("/")
        if len(segments) > 6 or not all(_SEGMENT.fullmatch(s) and ".." not in s for s in segments):
            raise ValidationError(f"static path {path[:80]!r} is not a plain relative path of the viewer files")
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
        file = os.fdopen(fd, "rb")
        ext = segments[-1].rsplit(".", 1)[-1].lower() if "." in segments[-1] else ""
        headers = {"Content-Type": MEDIA_TYPES.get(ext, "application/octet-stream"),
                   "Content-Length": str(st.st_size), "Cache-Control": "no-cache"}
        if ext == "html":
            headers.update(PAGE_HEADERS)
        return Response(200, headers, FileBody(file, 0, st.st_size))
