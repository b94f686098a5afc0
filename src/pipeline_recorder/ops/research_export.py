"""Research exports: the runs of a selection (``research_select``) as one archive, or as a table.

The archive is the export format of ``archive.py`` (``import`` reads it back): a manifest, then each run's
metadata.json and files. Its manifest also names the tool version, the table's column schema version, the
selection and the privacy options. The metadata.json it holds is the run's as ``Privacy.document`` makes it
(pseudonyms, no writers, text left out), so the manifest's checksums are those of the bytes in the archive.

The table (``--table csv|parquet``) has one row per entity and per prompting-process step
(``research_rows``, columns in ``research_columns``).

>>> export = plan_export(store, Selection.parse(session_id="class-4b"), Privacy(pseudonymise=True))  # doctest: +SKIP
>>> write_export(export, "archive", Path("class-4b.zip"))                                           # doctest: +SKIP
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..document import MetadataDocument
from ..errors import ValidationError
from ..stores.base import Store
from .archive import Member, archive_kind, iter_zip_members, plan_members, write_atomically, write_members
from .research_columns import SCHEMA_VERSION
from .research_privacy import Privacy
from .research_rows import iter_rows
from .research_select import SelectedRun, Selection, select_runs
from .research_table import iter_table

# What an export can be: the archive of runs, or the table in one of its formats.
ARCHIVE = "archive"
EXPORT_FORMATS = (ARCHIVE, "csv", "parquet")


@dataclass(frozen=True)
class ResearchExport:
    """The runs one export holds (each document read once) and what it does to their personal data."""

    store: Store
    selection: Selection
    runs: list[SelectedRun]
    privacy: Privacy


def plan_export(store: Store, selection: Selection, privacy: Privacy) -> ResearchExport:
    """Select the runs now. RunNotFoundError when none matches."""
    return ResearchExport(store, selection, select_runs(store, selection), privacy)


def _archive_members(export: ResearchExport) -> list[Member]:
    runs = []
    for run in export.runs:
        doc = export.privacy.document(run.doc)
        runs.append((run.run_id, MetadataDocument.from_dict(doc).to_bytes(), doc))
    extra = {"selection": export.selection.to_dict(), "column_schema_version": SCHEMA_VERSION,
             "privacy": export.privacy.manifest()}
    return plan_members(export.store, runs, extra)


def iter_export(export: ResearchExport, export_format: str) -> Iterator[bytes]:
    """The export as a stream of byte chunks: a zip archive, or the table as CSV or Parquet."""
    if export_format == ARCHIVE:
        return iter_zip_members(_archive_members(export))
    return iter_table(export_format, iter_rows(export.store, export.runs, export.privacy))


def write_export(export: ResearchExport, export_format: str, output: Path, *, overwrite: bool = False) -> int:
    """Write the export to ``output`` atomically (an archive: *.zip or *.tar.gz); the number of bytes written."""
    if export_format == ARCHIVE:
        write_members(_archive_members(export), output, overwrite=overwrite)
        return output.stat().st_size
    if export_format not in EXPORT_FORMATS:
        raise ValidationError(f"an export is an archive, csv or parquet, not {export_format[:40]!r}")
    output = output.absolute()
    if output.exists() and not overwrite:
        raise FileExistsError(errno.EEXIST, f"{output} already exists (use --force to replace it)")
    chunks = iter_export(export, export_format)  # MissingDependencyError now, before a temp file exists

    def write(out: IO[bytes]) -> None:
        for chunk in chunks:
            out.write(chunk)

    write_atomically(output, write)
    return output.stat().st_size


def check_archive_name(output: Path) -> None:
    """ExportFormatError unless an archive's name ends in .zip or .tar.gz (before any run is read)."""
    archive_kind(output)
