"""The column schema of the research table (``export --table csv|parquet``), read from its one home, the data file
``research_columns.json`` beside this module (each column's name, type and description, and the schema's version).

One row per entity of a run and per step of its prompting process (``record`` says which). ``SCHEMA_VERSION``
changes whenever a column is added, removed, renamed or changes meaning; docs/RESEARCH.md shows ``markdown()``
(a test keeps the two equal), and every CSV row and the Parquet file's metadata carry the version.

>>> COLUMNS[0].name
'schema_version'
>>> "text" in NAMES
True
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

COLUMNS_FILE = "research_columns.json"


@dataclass(frozen=True)
class Column:
    """One column: its name, its type (``string``, ``int64``, ``bool``, ``timestamp``: ISO 8601 text with its UTC
    offset in CSV, a UTC timestamp in Parquet) and what it holds."""

    name: str
    type: str
    description: str


def _read_schema() -> tuple[int, tuple[Column, ...]]:
    text = resources.files("pipeline_recorder.ops").joinpath(COLUMNS_FILE).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    version = int(data["schema_version"])
    # a description may name the version ("... ({schema_version})"): written once, in the file's schema_version
    return version, tuple(Column(column["name"], column["type"],
                                 column["description"].replace("{schema_version}", str(version)))
                          for column in data["columns"])


SCHEMA_VERSION, COLUMNS = _read_schema()
NAMES: tuple[str, ...] = tuple(column.name for column in COLUMNS)
# A text longer than this is cut in the table (the whole file is in the archive export).
MAX_INLINE_TEXT_BYTES = 1024 * 1024


def markdown() -> str:
    """The column schema as the Markdown table docs/RESEARCH.md shows."""
    lines = ["| column | type | what it holds |", "|---|---|---|"]
    lines += [f"| `{column.name}` | {column.type} | {column.description} |" for column in COLUMNS]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # python -m pipeline_recorder.ops.research_columns > the table for the docs
    print(markdown(), end="")
