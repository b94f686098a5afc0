"""Which extension and MIME type an entity's content gets: the one MIME map of the project.

``str`` is UTF-8 text (``txt``), ``dict``/``list`` is JSON (``json``), and binary content is detected from its
magic bytes with the ``filetype`` library; when detection finds nothing, an explicitly given format from
``ALLOWED_FORMATS`` is used, else ``bin``.
"""

from __future__ import annotations

from dataclasses import dataclass

import filetype

from .errors import InvalidFormatError

# extension -> MIME type. Every extension an entity file can have is here.
MIME_TYPES: dict[str, str] = {
    "txt": "text/plain; charset=utf-8",
    "json": "application/json",
    "md": "text/markdown; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "png": "image/png",
    "apng": "image/apng",
    "avif": "image/avif",
    "heic": "image/heic",
    "jpg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
    "bmp": "image/bmp",
    "tif": "image/tiff",
    "svg": "image/svg+xml",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "ogg": "audio/ogg",
    "flac": "audio/flac",
    "m4a": "audio/mp4",
    "aac": "audio/aac",
    "aiff": "audio/aiff",
    "mp4": "video/mp4",
    "webm": "video/webm",
    "mov": "video/quicktime",
    "m4v": "video/x-m4v",
    "mkv": "video/x-matroska",
    "avi": "video/x-msvideo",
    "mpg": "video/mpeg",
    "pdf": "application/pdf",
    "zip": "application/zip",
    "bin": "application/octet-stream",
}

# Formats a caller may name with metadata={"format": ...} for bytes that detection cannot place.
ALLOWED_FORMATS: frozenset[str] = frozenset(MIME_TYPES)
FORMAT_ALIASES = {"jpeg": "jpg", "tiff": "tif", "text": "txt"}

# filetype's extension names -> ours.
_DETECTED_ALIASES = {"jpeg": "jpg"}

# Types a browser could execute if served inline; the HTTP layer serves these only as attachments.
ACTIVE_MIME_TYPES = frozenset({"image/svg+xml", "text/html", "application/javascript", "text/javascript",
                               "application/xhtml+xml", "application/xml", "text/xml"})

SNIFF_BYTES = 8192


@dataclass(frozen=True)
class Format:
    ext: str
    mime_type: str


TEXT = Format("txt", MIME_TYPES["txt"])
JSON = Format("json", MIME_TYPES["json"])


def normalize_format(fmt: object) -> str:
    """Return the allow-listed extension for an explicitly given format, or raise InvalidFormatError."""
    if not isinstance(fmt, str):
        raise InvalidFormatError(f"format must be a string such as 'png', got {type(fmt).__name__}")
    name = fmt.strip().lower().lstrip(".")
    name = FORMAT_ALIASES.get(name, name)
    if name not in ALLOWED_FORMATS:
        allowed = ", ".join(sorted(ALLOWED_FORMATS))
        raise InvalidFormatError(f"format {fmt[:40]!r} is not allowed; allowed formats: {allowed}")
    return name


def detect_binary(head: bytes, fmt: str | None) -> Format:
    """The format of binary content from its first bytes; ``fmt`` (already normalised) when nothing matches.

    What the content is wins over what the caller says. Content recognised as a kind outside MIME_TYPES (an
    executable, an archive, a font...) is stored as ``bin``, whatever format was given: its extension and MIME type
    never come from a caller's label that the bytes contradict.
    """
    kind = filetype.guess(head) if head else None
    if kind is not None:
        ext = _DETECTED_ALIASES.get(kind.extension, kind.extension)
        return Format(ext, MIME_TYPES[ext]) if ext in MIME_TYPES else Format("bin", MIME_TYPES["bin"])
    if fmt is not None:
        return Format(fmt, MIME_TYPES[fmt])
    return Format("bin", MIME_TYPES["bin"])


def mime_for_filename(filename: str) -> str:
    """MIME type for an entity file by its extension (content was checked when it was saved)."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return MIME_TYPES.get(ext, "application/octet-stream")
