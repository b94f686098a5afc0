"""The names of a run's helper files (made by the server, never entities: thumbnails), the same in every store.

A helper file name is a hidden folder, then a plain name, e.g. ``.thumbnails/{sha256}-320.webp``. Nothing else can
be named, so a helper never reaches an entity or the document.
"""

from __future__ import annotations

import re

from ..errors import ValidationError

HELPER_NAME_PATTERN = re.compile(r"\.[a-z][a-z0-9_-]{0,31}/[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
MAX_HELPER_BYTES = 8 * 1024 * 1024  # a helper file is small (a thumbnail); a larger one is read as absent


def validate_helper_name(name: str) -> tuple[str, str]:
    """(folder, filename) of a helper file name; ValidationError saying what is accepted."""
    if not isinstance(name, str) or HELPER_NAME_PATTERN.fullmatch(name) is None:
        raise ValidationError(f"helper file name {str(name)[:80]!r} is not '.folder/name' (a hidden folder of "
                              "lower-case letters, then letters, digits, '.', '_' and '-')")
    folder, _, filename = name.partition("/")
    return folder, filename
