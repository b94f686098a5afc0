"""Settings of the HTTP server, from arguments or ``PIPELINE_RECORDER_*`` environment variables.

| setting | env var | default |
|---|---|---|
| host | PIPELINE_RECORDER_HOST | 127.0.0.1 |
| port | PIPELINE_RECORDER_PORT | 17801 |
| base_path | PIPELINE_RECORDER_BASE_PATH | . (runs under ./pipeline_runs) |
| store | PIPELINE_RECORDER_STORE | none: the folder store at base_path (else a store URL, e.g. s3://bucket/prefix) |
| config_dirs | PIPELINE_RECORDER_CONFIGS | none (os.pathsep-separated list) |
| workers | PIPELINE_RECORDER_WORKERS | 2 (pipelines run at once) |
| token | PIPELINE_RECORDER_TOKEN | none (no token asked) |
| allowed_hosts | PIPELINE_RECORDER_ALLOWED_HOSTS | loopback names only (comma-separated; '*' = any) |
| cors_origins | PIPELINE_RECORDER_CORS_ORIGINS | none: CORS off (comma-separated origins) |
| min_safety_level | PIPELINE_RECORDER_MIN_SAFETY_LEVEL | off: any level (kids, youth, adult or off) |
| max_entity_bytes | PIPELINE_RECORDER_MAX_ENTITY_BYTES | 4294967296 (4 GiB: the largest entity a write takes) |
| lease_seconds | PIPELINE_RECORDER_LEASE_SECONDS | 30 (a remote writer not heard from this long is gone) |
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import get_type_hints

from ..errors import ValidationError

ENV_PREFIX = "PIPELINE_RECORDER_"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 17801
HEARTBEAT_SECONDS = 15.0
# The runner's safety levels, strictest first (tests/runner checks they are the runner's own list): the setting is
# checked when the server starts, without loading the runner.
SAFETY_LEVELS = ("kids", "youth", "adult", "off")


@dataclass(frozen=True)
class Settings:
    """What the server needs to know; every field has a safe default."""

    base_path: Path = field(default_factory=lambda: Path(".").absolute())
    store: str | None = None  # a store URL (s3://bucket/prefix) served instead of the folder at base_path
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    config_dirs: tuple[Path, ...] = ()
    workers: int = 2
    token: str | None = None
    allowed_hosts: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = ()
    heartbeat_seconds: float = HEARTBEAT_SECONDS
    min_safety_level: str = "off"
    max_entity_bytes: int = 4 * 1024**3
    lease_seconds: float = 30.0

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValidationError(f"port {self.port} is not a TCP port (0 to 65535)")
        if not 1 <= self.workers <= 64:
            raise ValidationError(f"workers {self.workers} must be from 1 to 64")
        if not 0 < self.heartbeat_seconds <= 15:
            raise ValidationError(f"heartbeat_seconds {self.heartbeat_seconds} must be above 0 and at most 15")
        if not 1 <= self.max_entity_bytes <= 64 * 1024**3:
            raise ValidationError(f"max_entity_bytes {self.max_entity_bytes} must be from 1 to 64 GiB")
        if not 0.5 <= self.lease_seconds <= 86400:
            raise ValidationError(f"lease_seconds {self.lease_seconds} must be from 0.5 to 86400")
        if self.token is not None and len(self.token) < 8:
            raise ValidationError("the token must be at least 8 characters long")
        if self.min_safety_level not in SAFETY_LEVELS:
            raise ValidationError(f"min_safety_level (PIPELINE_RECORDER_MIN_SAFETY_LEVEL) must be one of "
                                  f"{', '.join(SAFETY_LEVELS)}, got {self.min_safety_level[:40]!r}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from ``PIPELINE_RECORDER_*`` variables; ``overrides`` that are not None win (CLI flags)."""
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(ENV_PREFIX + name)
            return value if value not in (None, "") else None

        values: dict[str, object] = {}
        hints = get_type_hints(cls)
        for setting in fields(cls):
            name = _ENV_NAMES.get(setting.name, setting.name.upper())
            if name is not None and (text := get(name)) is not None:
                read = _READ_AS.get(setting.name) or _reader(hints[setting.name])
                values[setting.name] = read(ENV_PREFIX + name, text)
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls.build(**values)

    @classmethod
    def build(cls, **values: object) -> Settings:
        """Settings from loosely typed values (paths as str, lists as any sequence)."""
        if "base_path" in values:
            values["base_path"] = Path(str(values["base_path"])).absolute()
        if "config_dirs" in values:
            values["config_dirs"] = tuple(Path(str(p)).absolute() for p in values["config_dirs"])  # type: ignore[attr-defined]
        for key in ("allowed_hosts", "cors_origins"):
            if key in values:
                values[key] = tuple(str(v) for v in values[key])  # type: ignore[attr-defined]
        return cls(**values)  # type: ignore[arg-type]


# How the text of a setting's variable is read (the variable's name is given for the error message).
Reader = Callable[[str, str], object]
# A setting's variable is ENV_PREFIX and its name in capitals (PIPELINE_RECORDER_LEASE_SECONDS) but for these (None:
# not read from the environment), and its text is read by the setting's type (``_reader``) but for these.
_ENV_NAMES: dict[str, str | None] = {"config_dirs": "CONFIGS", "heartbeat_seconds": None}
_READ_AS: dict[str, Reader] = {"min_safety_level": lambda name, text: text.strip()}


def _reader(kind: object) -> Reader:
    """Whole numbers, numbers, comma-separated names, an os.pathsep-separated list of folders; else the text."""
    if kind is int:
        return _integer
    if kind is float:
        return _number
    if kind == tuple[str, ...]:
        return lambda name, text: _names(text)
    if kind == tuple[Path, ...]:
        return lambda name, text: [part for part in text.split(os.pathsep) if part]
    return lambda name, text: text


def _integer(name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValidationError(f"{name} must be an integer, got {text[:40]!r}") from None


def _number(name: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValidationError(f"{name} must be a number, got {text[:40]!r}") from None


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())
