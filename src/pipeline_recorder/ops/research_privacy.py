"""The privacy options of a research export: pseudonyms for user and device ids, and leaving free text out.

A pseudonym is an HMAC-SHA256 of the id under the export's key, so the same user gets the same pseudonym
throughout one export. Without a key given, each export draws a fresh random key that is never stored: two exports
cannot be linked by their pseudonyms, and nobody (the researcher included) can turn a pseudonym back into an id. A
researcher who must follow the same children across several exports passes the same key (``--pseudonym-key``) to
each; the key must then be kept as secret as the ids themselves.

>>> p = Privacy(pseudonymise=True, key="class-4b-study")
>>> p.user("child-17") == p.user("child-17"), p.user("child-17").startswith("user-")
(True, True)
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from ..document import without_writers
from ..errors import ValidationError

TEXT_MIME_TYPES = ("text/", "application/json")
_PSEUDONYM_HEX = 16  # 64 bits: no collision among the users of any study
_MIN_KEY_CHARS = 8


def is_text(mime_type: object) -> bool:
    """Whether an entity of this media type holds words (text or JSON), which --no-text leaves out."""
    return isinstance(mime_type, str) and mime_type.startswith(TEXT_MIME_TYPES)


class Privacy:
    """What one export does to the personal data of the runs it holds."""

    def __init__(self, *, pseudonymise: bool = False, key: str | None = None, no_text: bool = False) -> None:
        if key is not None and not pseudonymise:
            raise ValidationError("a pseudonym key only makes sense with --pseudonymise")
        if key is not None and len(key) < _MIN_KEY_CHARS:
            raise ValidationError(f"the pseudonym key must be at least {_MIN_KEY_CHARS} characters long (it is "
                                  "what keeps pseudonyms from being guessed from ids)")
        self.pseudonymise = pseudonymise
        self.no_text = no_text
        self.keyed = key is not None
        self._key = key.encode() if key is not None else secrets.token_bytes(32)

    def _pseudonym(self, prefix: str, value: object) -> object:
        if not self.pseudonymise or not isinstance(value, str):
            return value
        digest = hmac.new(self._key, f"{prefix}\0{value}".encode(), hashlib.sha256).hexdigest()
        return f"{prefix}-{digest[:_PSEUDONYM_HEX]}"

    def user(self, user_id: object) -> object:
        return self._pseudonym("user", user_id)

    def device(self, device_id: object) -> object:
        return self._pseudonym("device", device_id)

    def keeps(self, record: dict[str, Any]) -> bool:
        """Whether an entity (or prompting-process step) goes into an archive export with its file."""
        return not (self.no_text and is_text(record.get("mime_type")))

    def document(self, doc: dict[str, Any]) -> dict[str, Any]:
        """A run's document as an export holds it: ids pseudonymised, writers (pids, host names) left out always,
        and with no_text the notes emptied and the text entities left out. ``doc`` is not changed."""
        out = without_writers(doc)
        out["user_id"] = self.user(doc.get("user_id"))
        if "device_id" in doc:
            out["device_id"] = self.device(doc.get("device_id"))
        if self.no_text:
            if "notes" in doc:
                out["notes"] = ""
            out["entities"] = [entity for entity in doc.get("entities", []) if self.keeps(entity)]
            if isinstance(doc.get("prompting_process"), list):
                out["prompting_process"] = [step for step in doc["prompting_process"]
                                            if isinstance(step, dict) and self.keeps(step)]
        return out

    def manifest(self) -> dict[str, Any]:
        """What the manifest says of the privacy options (never the key)."""
        out: dict[str, Any] = {"pseudonymised": self.pseudonymise, "text_left_out": self.no_text}
        if self.pseudonymise:
            out["pseudonym_key"] = "given" if self.keyed else "random, not kept"
        return out
