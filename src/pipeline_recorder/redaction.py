"""Secrets never reach the store: values under secret-looking keys are replaced before anything is written.

Runs are records of what children typed and what the pipeline did; they are exported, shared with researchers and
kept for years. An API key or a password that a host app put into entity metadata, a config or a backend's
settings must not travel with them. Every writer passes JSON-like values through ``redact`` first::

    >>> redact({"model": "llama3", "api_key": "sk-123", "backend": {"Authorization": "Bearer x"}})
    {'model': 'llama3', 'api_key': '[redacted]', 'backend': {'Authorization': '[redacted]'}}

A key is secret when, lowercased and with ``-`` and spaces read as ``_``, it is one of ``SECRET_NAMES`` or ends in
one of ``SECRET_SUFFIXES`` (``github_token``, ``db_password``, ``client_secret``). Keys that merely contain such a
word elsewhere (``token_count``, ``max_tokens``, ``password_hint_shown``) are kept: counting tokens is ordinary
pipeline metadata. Lists and nested dicts are walked; other values are returned as they are.
"""

from __future__ import annotations

from typing import Any

REDACTED = "[redacted]"
SECRET_NAMES = frozenset({
    "api_key", "apikey", "authorization", "auth", "token", "access_token", "refresh_token", "id_token", "password",
    "passwd", "pwd", "secret", "client_secret", "private_key", "access_key", "secret_key", "aws_secret_access_key",
    "cookie", "set_cookie", "x_api_key", "bearer", "credentials", "session_token",
})
SECRET_SUFFIXES = ("_token", "_password", "_secret", "_api_key", "_apikey", "_key_secret", "_private_key",
                   "_access_key", "_secret_key", "_credentials")
MAX_DEPTH = 64  # deeper values are refused by the writers' own checks; redaction never recurses further


def is_secret_key(key: str) -> bool:
    """Whether a mapping key names a secret (see the module docstring)."""
    name = key.strip().lower().replace("-", "_").replace(" ", "_")
    return name in SECRET_NAMES or name.endswith(SECRET_SUFFIXES)


def redact(value: Any, _depth: int = 0) -> Any:
    """A copy of ``value`` with every value under a secret key replaced by ``REDACTED``; unchanged otherwise.

    Containers without secrets come back as the same objects (no copy), so the common case costs one walk."""
    if _depth > MAX_DEPTH:
        return value
    if isinstance(value, dict):
        changed: dict[Any, Any] | None = None
        for key, item in value.items():
            new = REDACTED if isinstance(key, str) and is_secret_key(key) and item not in (None, "") \
                else redact(item, _depth + 1)
            if new is not item:
                if changed is None:
                    changed = dict(value)
                changed[key] = new
        return value if changed is None else changed
    if isinstance(value, list):
        items = [redact(item, _depth + 1) for item in value]
        return value if all(new is old for new, old in zip(items, value, strict=True)) else items
    return value
