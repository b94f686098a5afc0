"""The research options of ``export`` (a selection of runs, ``--table``, pseudonyms, ``--no-text``), declared
once, and the export they ask for. The command itself is ``export`` in ``ops.py``; this module registers no command.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from ..errors import ValidationError
from ..ops.listing import resolve_run_id
from ..ops.research_export import ARCHIVE, ResearchExport, check_archive_name, write_export
from ..ops.research_privacy import Privacy
from ..ops.research_select import Selection, runs_by_id, select_runs

__all__ = ["ResearchOptions", "Selection", "research_export"]
from ..ops.research_table import check_table_format
from ..stores.base import Store

PSEUDONYM_KEY_ENV = "PIPELINE_RECORDER_PSEUDONYM_KEY"

Session = Annotated[str | None, typer.Option("--session", metavar="SESSION_ID",
                                             help="Export the runs of this session.")]
User = Annotated[str | None, typer.Option("--user", metavar="USER_ID", help="Export the runs of this user.")]
Device = Annotated[str | None, typer.Option("--device", metavar="DEVICE_ID",
                                            help="Export the runs of this device.")]
Kind = Annotated[str | None, typer.Option("--kind", metavar="KIND",
                                          help="Export the runs of this kind (pipeline, canvas_workflow, ...).")]
Since = Annotated[str | None, typer.Option("--since", metavar="TIME",
                                           help="Export runs started at or after TIME (ISO 8601, or 2d ago).")]
Until = Annotated[str | None, typer.Option("--until", metavar="TIME", help="Export runs started before TIME.")]
TableFormat = Annotated[str | None, typer.Option(
    "--table", metavar="FORMAT", help="Write a table instead of an archive: csv, or parquet (needs the research "
                                      "extra). One row per entity and per prompting-process step.")]
Pseudonymise = Annotated[bool, typer.Option(
    "--pseudonymise", "--pseudonymize", help="Replace user and device ids by pseudonyms, stable within this "
                                             "export only (unless --pseudonym-key is given).")]
PseudonymKey = Annotated[str | None, typer.Option(
    "--pseudonym-key", envvar=PSEUDONYM_KEY_ENV, show_default=False, metavar="KEY",
    help="A secret (8+ characters) that makes pseudonyms the same across the exports made with it (implies "
         "--pseudonymise).")]
NoText = Annotated[bool, typer.Option(
    "--no-text", help="Leave free text out: text and JSON entities (content and hash) and the run's notes.")]


@dataclass(frozen=True)
class ResearchOptions:
    """What the research options of one ``export`` call ask for."""

    selection: Selection
    table: str | None
    pseudonymise: bool
    pseudonym_key: str | None
    no_text: bool

    @property
    def wanted(self) -> bool:
        """Whether the call is a research export (any of these options given) rather than the plain one."""
        # Not the key alone: it may come from the environment, for every export.
        return not self.selection.is_empty() or self.table is not None or self.pseudonymise or self.no_text


def research_export(store: Store, options: ResearchOptions, run_ids: list[str], output: Path, *,
                    force: bool) -> str:
    """Export the named runs or the selection as the options ask; the line that tells what was written."""
    if run_ids and not options.selection.is_empty():
        raise ValidationError("name runs or select them (--session, --user, --device, --kind, --since, --until), "
                              "not both")
    if not run_ids and options.selection.is_empty():
        raise ValidationError("name the runs to export, or select them with --session, --user, --device, --kind, "
                              "--since or --until")
    export_format = check_table_format(options.table) if options.table is not None else ARCHIVE
    if export_format == ARCHIVE:
        check_archive_name(output)
    # A key asks for pseudonyms by itself: an export never carries ids beside a key meant to hide them.
    privacy = Privacy(pseudonymise=options.pseudonymise or options.pseudonym_key is not None,
                      key=options.pseudonym_key, no_text=options.no_text)
    runs = (runs_by_id(store, [resolve_run_id(store, text) for text in run_ids]) if run_ids
            else select_runs(store, options.selection))
    size = write_export(ResearchExport(store, options.selection, runs, privacy), export_format, output,
                        overwrite=force)
    what = "an archive" if export_format == ARCHIVE else f"a {export_format} table"
    return f"exported {len(runs)} run(s) as {what} to {output} ({size} bytes)"

