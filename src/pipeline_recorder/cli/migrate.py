"""`migrate SOURCE TARGET`: copy runs between stores (a folder and the shared store, either way), checked by hash,
resumable (runs already copied are skipped)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from . import app
from .exit_codes import ExitCode, reported


@app.command()
def migrate(
    source: Annotated[str, typer.Argument(metavar="SOURCE", help="The store to copy from: a folder path or s3://bucket/prefix.")],
    target: Annotated[str, typer.Argument(metavar="TARGET", help="The store to copy into: a folder path or s3://bucket/prefix.")],
    run: Annotated[list[str] | None, typer.Option(
        "--run", "-r", metavar="RUN_ID", help="Copy only this run (repeatable); default: every run of SOURCE.")] = None,
    database: Annotated[str | None, typer.Option(
        envvar="PIPELINE_RECORDER_DATABASE_URL", show_default=False, metavar="URL",
        help="The shared store's PostgreSQL database (a libpq URL), for an s3:// SOURCE or TARGET.")] = None,
) -> None:
    """Copy every run of SOURCE into TARGET. Each entity's SHA-256 is checked against its record as it is copied,
    and each copied metadata.json against the source's; a run the target already holds byte for byte is skipped,
    so running the command again after it was stopped finishes the job. Exit 0 when every run was copied or
    skipped, 1 when some could not be (each is named, with why)."""
    from ..stores import open_store
    from ..stores.migrate import migrate_runs

    if database:
        os.environ["PIPELINE_RECORDER_DATABASE_URL"] = database
    with reported():
        source_store, target_store = open_store(source), open_store(target)
        try:
            def progress(run_id: str, outcome: str) -> None:
                typer.echo(f"{outcome:8s} {run_id}")

            report = migrate_runs(source_store, target_store, run or None, progress)
        finally:
            source_store.close()
            target_store.close()
    for run_id, why in report.failed.items():
        typer.echo(f"error: run {run_id}: {why}", err=True)
    typer.echo(f"{len(report.copied)} copied, {len(report.skipped)} already there, {len(report.failed)} failed")
    if report.failed:
        raise typer.Exit(int(ExitCode.PROBLEMS))
