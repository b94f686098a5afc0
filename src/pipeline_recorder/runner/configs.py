"""Pipeline configs: data files (YAML or JSON) that say what a pipeline does, validated field by field.

The shipped configs live in ``pipeline_recorder/configs/`` (installed with the package, found with
``importlib.resources`` from any working directory); folders given as ``config_dirs`` add configs or override
shipped ones of the same name (later folders win). Files named ``*.workflow.json`` are ComfyUI workflows, not
configs, nor are ``*.lookup.json`` files (data about the configs). A malformed file raises ConfigError naming the
file and the field.

>>> catalog = ConfigCatalog()                       # doctest: +SKIP
>>> catalog.get("stillepost").expected_outputs()   # doctest: +SKIP
['input', 'translation', 'safety', 'interception', 'safety_pre_output', 'output_image']
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError, UnknownConfigError
from .stages import MEDIA_KINDS, expected_outputs

CONFIG_SUFFIXES = (".yaml", ".yml", ".json")
WORKFLOW_SUFFIX = ".workflow.json"
LOOKUP_SUFFIX = ".lookup.json"  # data about the configs (expected_outputs.lookup.json), not a config
CONFIG_NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
TEXT_BACKENDS = ("auto", "embedded", "ollama", "openai")
MEDIA_BACKENDS = ("auto", "embedded", "comfyui")
EMBEDDED_STYLES = ("telephone", "describe", "haiku", "sound", "plain")
OLLAMA_APIS = ("generate", "chat")
MAX_ITERATIONS = 50
# Pacing: a pause after each entity so a class can watch a run fill in; bounded so a run can never hang for long.
MAX_PACE_MS = 10_000


@dataclass(frozen=True)
class ServerSettings:
    """Where and how to reach one HTTP backend; ``url`` None means: take it from the environment."""

    url: str | None = None
    model: str | None = None
    api: str = "generate"
    workflow: dict[str, Any] | None = None
    workflow_name: str | None = None


@dataclass(frozen=True)
class PipelineConfig:
    """One validated pipeline config."""

    name: str
    description: str
    iterations: int
    instruction: str
    style: str
    media: tuple[str, ...]
    image_size: tuple[int, int] = (256, 256)
    audio_seconds: float = 2.0
    text_backend: str = "auto"
    media_backend: str = "auto"
    ollama: ServerSettings = field(default_factory=ServerSettings)
    openai: ServerSettings = field(default_factory=ServerSettings)
    comfyui: ServerSettings = field(default_factory=ServerSettings)
    safety_judge: bool = False
    timeout_seconds: float = 60.0
    retries: int = 2
    pace_ms: int = 0
    source: str = ""

    def expected_outputs(self) -> list[str]:
        """The entity types a completed run of this config holds (a text-only config expects no media)."""
        return expected_outputs(self.media)

    def summary(self) -> dict[str, Any]:
        """What ``GET /api/schema/configs`` lists for this config."""
        return {"name": self.name, "description": self.description, "iterations": self.iterations,
                "media": list(self.media), "expected_outputs": self.expected_outputs(),
                "text_backend": self.text_backend, "media_backend": self.media_backend, "pace_ms": self.pace_ms,
                "source": self.source}


class _Fields:
    """Reads typed fields out of one parsed file, raising ConfigError that names the file and the field."""

    def __init__(self, source: str, data: Mapping[str, Any], prefix: str = "") -> None:
        self.source, self.data, self.prefix = source, data, prefix

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"config {self.source}: field '{self.prefix}{key}': {message}")

    def check_keys(self, allowed: Iterable[str]) -> None:
        allowed = tuple(allowed)
        for key in self.data:
            if key not in allowed:
                raise self.fail(str(key), f"unknown field; known fields are {', '.join(allowed)}")

    def string(self, key: str, default: str | None = None, *, choices: tuple[str, ...] = (), limit: int = 4000) -> str:
        value = self.data.get(key, default)
        if value is None:
            raise self.fail(key, "is required")
        if not isinstance(value, str) or not value.strip() or len(value) > limit:
            raise self.fail(key, f"must be a non-empty string of at most {limit} characters, got {value!r:.60}")
        if choices and value not in choices:
            raise self.fail(key, f"must be one of {', '.join(choices)}, got {value!r:.60}")
        return value

    def optional_string(self, key: str) -> str | None:
        return None if self.data.get(key) is None else self.string(key)

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self.data.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise self.fail(key, f"must be an integer from {low} to {high}, got {value!r:.60}")
        return value

    def number(self, key: str, default: float, low: float, high: float) -> float:
        value = self.data.get(key, default)
        if not isinstance(value, int | float) or isinstance(value, bool) or not low <= value <= high:
            raise self.fail(key, f"must be a number from {low} to {high}, got {value!r:.60}")
        return float(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, got {value!r:.60}")
        return value

    def section(self, key: str) -> _Fields:
        value = self.data.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a mapping, got {type(value).__name__}")
        return _Fields(self.source, value, f"{self.prefix}{key}.")


TOP_FIELDS = ("name", "description", "iterations", "instruction", "style", "media", "image", "audio", "backends",
              "safety", "timeout_seconds", "retries", "pace_ms")


def parse_config(data: object, source: str, default_name: str,
                 workflows: Mapping[str, dict[str, Any]] | None = None) -> PipelineConfig:
    """Validate one parsed config document; ``source`` names the file in every error."""
    if not isinstance(data, dict):
        raise ConfigError(f"config {source}: the file must hold a mapping of fields, got {type(data).__name__}")
    top = _Fields(source, data)
    top.check_keys(TOP_FIELDS)
    name = top.string("name", default_name, limit=64)
    if CONFIG_NAME_PATTERN.fullmatch(name) is None:
        raise top.fail("name", f"{name!r} is not a config name: 1 to 64 lowercase letters, digits, '_' or '-'")
    media_value = data.get("media", [])
    if isinstance(media_value, str):
        media_value = [media_value]
    if not isinstance(media_value, list) or not all(isinstance(m, str) and m in MEDIA_KINDS for m in media_value):
        raise top.fail("media", f"must be a list of {', '.join(MEDIA_KINDS)} (empty for text only), "
                                f"got {media_value!r:.60}")
    image, audio, safety = top.section("image"), top.section("audio"), top.section("safety")
    image.check_keys(("width", "height"))
    audio.check_keys(("seconds",))
    safety.check_keys(("judge",))
    backends = top.section("backends")
    backends.check_keys(("text", "media", "ollama", "openai", "comfyui"))
    servers = {}
    for server in ("ollama", "openai", "comfyui"):
        section = backends.section(server)
        section.check_keys(("url", "model", "api", "workflow"))
        url = section.optional_string("url")
        if url is not None and not url.startswith(("http://", "https://")):
            raise section.fail("url", f"must start with http:// or https://, got {url!r:.60}")
        workflow_name = section.optional_string("workflow")
        workflow = None
        if workflow_name is not None:
            if workflows is None or workflow_name not in workflows:
                known = ", ".join(sorted(workflows or {})) or "none"
                raise section.fail("workflow", f"no workflow file {workflow_name!r} next to the configs; "
                                               f"known: {known}")
            workflow = workflows[workflow_name]
        servers[server] = ServerSettings(url=url, model=section.optional_string("model"),
                                         api=section.string("api", "generate", choices=OLLAMA_APIS),
                                         workflow=workflow, workflow_name=workflow_name)
    return PipelineConfig(
        name=name,
        description=top.string("description", name),
        iterations=top.integer("iterations", 1, 1, MAX_ITERATIONS),
        instruction=top.string("instruction", "Rephrase the text in your own words."),
        style=top.string("style", "plain", choices=EMBEDDED_STYLES),
        media=tuple(dict.fromkeys(media_value)),
        image_size=(image.integer("width", 256, 16, 2048), image.integer("height", 256, 16, 2048)),
        audio_seconds=audio.number("seconds", 2.0, 0.1, 60.0),
        text_backend=backends.string("text", "auto", choices=TEXT_BACKENDS),
        media_backend=backends.string("media", "auto", choices=MEDIA_BACKENDS),
        ollama=servers["ollama"],
        openai=servers["openai"],
        comfyui=servers["comfyui"],
        safety_judge=safety.boolean("judge", False),
        timeout_seconds=top.number("timeout_seconds", 60.0, 0.1, 3600.0),
        retries=top.integer("retries", 2, 0, 10),
        pace_ms=top.integer("pace_ms", 0, 0, MAX_PACE_MS),
        source=source,
    )


def _parse_file(name: str, text: str, source: str) -> object:
    try:
        if name.endswith(".json"):
            return json.loads(text)
        return yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"config {source}: not valid {'JSON' if name.endswith('.json') else 'YAML'}: {exc}") from exc


def _entries(folder: Traversable | Path) -> list[tuple[str, Traversable | Path]]:
    return sorted(((entry.name, entry) for entry in folder.iterdir() if entry.is_file()), key=lambda e: e[0])


def load_folder(folder: Traversable | Path, label: str) -> dict[str, PipelineConfig]:
    """Every config in one folder, by name; ComfyUI workflows (``*.workflow.json``) are read first."""
    entries = _entries(folder)
    workflows: dict[str, dict[str, Any]] = {}
    for filename, entry in entries:
        if filename.endswith(WORKFLOW_SUFFIX):
            source = f"{label}/{filename}"
            try:
                workflow = json.loads(entry.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ConfigError(f"workflow {source}: not valid JSON: {exc}") from exc
            if not isinstance(workflow, dict):
                raise ConfigError(f"workflow {source}: must be a JSON object of ComfyUI nodes")
            workflows[filename] = workflow
    configs: dict[str, PipelineConfig] = {}
    for filename, entry in entries:
        if filename.endswith((WORKFLOW_SUFFIX, LOOKUP_SUFFIX)) or not filename.endswith(CONFIG_SUFFIXES) \
                or filename.startswith("."):
            continue
        source = f"{label}/{filename}"
        try:
            text = entry.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config {source}: cannot be read: {exc}") from exc
        stem = filename.rsplit(".", 1)[0]
        config = parse_config(_parse_file(filename, text, source), source, stem, workflows)
        if config.name in configs:
            raise ConfigError(f"config {source}: field 'name': {config.name!r} is already defined by "
                              f"{configs[config.name].source}")
        configs[config.name] = config
    return configs


def shipped_folder() -> Traversable:
    return resources.files("pipeline_recorder").joinpath("configs")


class ConfigCatalog:
    """The configs a runner knows: the shipped ones, then each extra folder, later ones overriding earlier ones."""

    def __init__(self, config_dirs: Iterable[str | Path] = (), *, include_shipped: bool = True) -> None:
        self._configs: dict[str, PipelineConfig] = {}
        if include_shipped:
            self._configs.update(load_folder(shipped_folder(), "pipeline_recorder/configs"))
        for folder in config_dirs:
            path = Path(folder)
            if not path.is_dir():
                raise ConfigError(f"config folder {str(path)!r} does not exist or is not a folder")
            self._configs.update(load_folder(path, str(path)))

    def names(self) -> list[str]:
        return sorted(self._configs)

    def get(self, name: object) -> PipelineConfig:
        """The config of that name; UnknownConfigError listing the known names otherwise."""
        if isinstance(name, str) and name in self._configs:
            return self._configs[name]
        raise UnknownConfigError(f"unknown schema {str(name)[:80]!r}; known configs: {', '.join(self.names())}")

    def summaries(self) -> list[dict[str, Any]]:
        return [self._configs[name].summary() for name in self.names()]
