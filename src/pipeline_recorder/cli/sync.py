"""`sync`: send the writes a remote recorder spooled while its server could not be reached (``pipeline-recorder
sync [SPOOL]``), for a worker that stopped before it could send them itself."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import app as app
from .exit_codes import ExitCode, fail, reported


@app.command()
def sync(
    spool: Annotated[Path | None, typer.Argument(
        help="The spool folder (default: $PIPELINE_RECORDER_SPOOL or ~/.cache/pipeline-recorder/spool).",
        show_default=False)] = None,
    server: Annotated[str | None, typer.Option(
        help="Send to this server instead of the one each run's spool names.", show_default=False)] = None,
    token: Annotated[str | None, typer.Option(envvar="PIPELINE_RECORDER_TOKEN", show_default=False,
                                              help="The server's token.")] = None,
    retry_seconds: Annotated[float, typer.Option(min=0, help="How long each write is retried.")] = 20.0,
) -> None:
    """Send every spooled write to its server, in order, each run's writes once; then say what was sent."""
    from ..errors import ServerUnreachableError
    from ..remote.spool import default_spool_root, spooled_runs
    from ..remote.transport import Transport

    root = spool if spool is not None else default_spool_root()
    problems = 0
    with reported():
        for run in spooled_runs(root):
            pending = len(run)
            if pending == 0:
                continue
            url = server or run.server_url()
            if url is None:
                typer.echo(f"{run.run_id}: no server recorded in {run.folder}; give one with --server", err=True)
                problems += 1
                continue
            transport = Transport(url, token, retry_seconds=retry_seconds)
            try:
                with run.sending() as held:
                    if not held:
                        typer.echo(f"{run.run_id}: another sender is sending this spool; skipped", err=True)
                        problems += 1
                        continue
                    try:
                        sent, rejected = run.drain(transport)
                    except ServerUnreachableError as exc:
                        typer.echo(f"{run.run_id}: {exc}; {len(run)} write(s) left in the spool", err=True)
                        problems += 1
                        continue
            finally:
                transport.close()
            for why in rejected:
                typer.echo(f"{run.run_id}: refused by the server, kept in {run.folder / 'rejected'}: {why}",
                           err=True)
            problems += bool(rejected)
            typer.echo(f"{run.run_id}: sent {sent} write(s) to {url}")
    if problems:
        fail(ExitCode.PROBLEMS, f"{problems} run(s) of {root} were not sent whole")
