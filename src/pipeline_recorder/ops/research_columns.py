"""The column schema of the research table (``export --table csv|parquet``): the one home of its columns.

One row per entity of a run and per step of its prompting process (``record`` says which). ``SCHEMA_VERSION``
changes whenever a column is added, removed, renamed or changes meaning; docs/RESEARCH.md shows ``markdown()``
(a test keeps the two equal), and every CSV row and the Parquet file's metadata carry the version.

>>> COLUMNS[0].name
'schema_version'
>>> "text" in NAMES
True
"""

from __future__ import annotations

from dataclasses import dataclass

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Column:
    """One column: its name, its type (``string``, ``int64``, ``bool``, ``timestamp``: ISO 8601 text with its UTC
    offset in CSV, a UTC timestamp in Parquet) and what it holds."""

    name: str
    type: str
    description: str


COLUMNS: tuple[Column, ...] = (
    Column("schema_version", "int64", f"The version of this column schema ({SCHEMA_VERSION})."),
    Column("run_id", "string", "The run's id."),
    Column("kind", "string", "What recorded the run: `pipeline` or a host's name (e.g. `canvas_workflow`)."),
    Column("session_id", "string", "The session the run belongs to (empty when none)."),
    Column("device_id", "string", "The device or workstation (empty when none; a pseudonym with --pseudonymise)."),
    Column("user_id", "string", "Who ran it (a pseudonym with --pseudonymise)."),
    Column("config_name", "string", "The pipeline config (run setting)."),
    Column("execution_mode", "string", "`eco` or `fast` (run setting)."),
    Column("safety_level", "string", "`kids`, `youth`, `adult` or `off` (run setting)."),
    Column("run_status", "string", "The run's status at export: completed, failed, blocked, cancelled, "
                                   "interrupted or running."),
    Column("run_started_at", "timestamp", "When the run was created."),
    Column("run_finished_at", "timestamp", "When the run ended (empty while running)."),
    Column("tags", "string", "The run's tags as a JSON list."),
    Column("notes", "string", "The run's notes (free text; empty with --no-text)."),
    Column("record", "string", "`entity` (a numbered entity of the run) or `prompting_process` (a step of the "
                               "record of how the prompt came about)."),
    Column("sequence", "int64", "The entity's sequence, or the step's number in the prompting process."),
    Column("entity_type", "string", "The entity's type (input, translation, safety, output_image, ...)."),
    Column("stage", "int64", "The pipeline stage (0-4) that saves this entity type; empty for other types."),
    Column("stage_name", "string", "That stage's name (e.g. `interception`)."),
    Column("model", "string", "The backend/model that ran that stage, from the run's models_used."),
    Column("timestamp", "timestamp", "When the entity or step was saved."),
    Column("filename", "string", "The file inside the run's folder."),
    Column("mime_type", "string", "The file's media type."),
    Column("size", "int64", "The file's size in bytes."),
    Column("sha256", "string", "The file's sha256 (empty for text and JSON with --no-text: a hash of a short "
                               "text can be guessed)."),
    Column("entity_metadata", "string", "The entity's metadata as JSON (e.g. the model and backend of an "
                                        "interception)."),
    Column("text", "string", "The content of a text or JSON entity, inline (empty for media and with --no-text)."),
    Column("text_truncated", "bool", "True when the text was longer than the inline limit and was cut."),
)

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
