"""The expected outputs of the pipeline configs shipped with the package, for runs created without a list.

``LivePipelineRecorder(run_id, "haiku", ...)`` (and ``get_recorder``) expects the outputs of the shipped ``haiku``
config when the caller gives no ``expected_outputs``; any other config name gets the recorder's default. The
lists are data (``configs/expected_outputs.lookup.json``), so the library never imports the runner.

>>> known_expected_outputs("haiku")
['input', 'translation', 'safety', 'interception', 'safety_pre_output']
>>> known_expected_outputs("my-own") is None
True
"""

from __future__ import annotations

import functools
import json
from importlib import resources

LOOKUP = "expected_outputs.lookup.json"


@functools.cache
def _lookup() -> dict[str, tuple[str, ...]]:
    text = resources.files("pipeline_recorder").joinpath("configs", LOOKUP).read_text(encoding="utf-8")
    return {name: tuple(outputs) for name, outputs in json.loads(text)["expected_outputs"].items()}


def known_expected_outputs(config_name: str) -> list[str] | None:
    """The expected outputs of a shipped config of that name, or None for a name the package does not ship."""
    outputs = _lookup().get(config_name)
    return None if outputs is None else list(outputs)
